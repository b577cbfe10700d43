"""Switch to Russian or Chinese and no English word is left on the owner's journey and the CRM's main pages:
every word a page says is translated (the data on it, such as names, cars and the group's own words, aside)."""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

# Words that are the same in every language here: names of things, codes and abbreviations people write in Latin.
ALLOWED = {
    "vin", "sms", "api", "csv", "xlsx", "pdf", "ics", "url", "id", "ok", "km", "rub", "eur", "cny", "usd", "nps",
    "csi", "rfm", "dms", "crm", "hq", "e", "mail", "email", "www", "http", "https", "dealercrm", "utc", "iso",
    "alpha", "motors", "berlin", "munich", "hamburg", "bravo", "avto", "moscow", "olga", "owner", "admin", "sales",
    "whatsapp", "telegram", "wechat", "google", "apple", "stripe", "visa", "mastercard", "qr", "h", "a", "b", "c",
    "o", "f", "gmbh", "test", "cms", "localhost",
    # Names that are their own in every language: the language switcher's "English", IANA time zones
    # ("Europe/Berlin"), file encodings and the spreadsheet they come from.
    "english", "europe", "utf", "windows", "gb", "excel", "mb",
    # Chinese keeps this one as it is.
    "webhook",
}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")


class _Text(HTMLParser):
    """The words a reader sees: text outside scripts and styles, and the labels screen readers read."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "pre"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder", "alt") and value:
                self.words.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") in ("submit", "button") and value:
                self.words.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.words.append(data)


def english_words(html: str, data_words: set[str]) -> set[str]:
    parser = _Text()
    parser.feed(html)
    found = {word.lower() for text in parser.words for word in LATIN_WORD.findall(text)}
    return {word for word in found if word not in ALLOWED and word not in data_words}


STAFF_PAGES = ("/crm/", "/crm/customers/", "/crm/customers/imports/", "/crm/sales/", "/crm/sales/prospects/",
               "/crm/service/calendar/", "/crm/service/declined/", "/crm/marketing/", "/crm/analytics/",
               "/crm/settings/rooftops/", "/crm/settings/staff/", "/crm/club/")
OWNER_PAGES = ("/my/", "/my/book/", "/my/history/", "/my/profile/", "/my/refer/", "/my/club/")


def _data_words(tenant) -> set[str]:
    """The group's own words (its name, rooftops, staff, service types as it named them): data, not the product's."""
    from django_tenants.utils import schema_context

    from accounts.models import User
    from crm.dealerships.models import Rooftop
    from crm.loyalty.models import ClubRules, Tier
    from crm.service.models import ServiceType

    with schema_context(tenant.schema_name):
        texts = [tenant.name, *Rooftop.objects.values_list("name", flat=True),
                 *Rooftop.objects.values_list("city", flat=True),
                 *[part for user in User.objects.all() for part in (user.first_name, user.last_name, user.email)],
                 *ServiceType.objects.values_list("name", flat=True),
                 *ClubRules.objects.values_list("name", flat=True), *Tier.objects.values_list("name", flat=True)]
    return {word.lower() for text in texts for word in LATIN_WORD.findall(text or "")}


@pytest.mark.parametrize("language", ["ru", "zh-hans"])
def test_the_crm_and_the_portal_say_nothing_in_english(cast, language):
    found = {}
    for email, pages in ((cast.a_admin, STAFF_PAGES), (cast.a_owner, OWNER_PAGES)):
        client = cast.client(cast.a)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language  # chosen before signing in, as the switcher does
        assert client.post("/accounts/login/", {"login": email, "password": cast.password}).status_code == 302
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, path
            if words := english_words(response.content.decode(), set()):
                found[path] = words
    # An English-speaking group: its own words (read after the pages made its club) are English, the screens' not.
    data_words = _data_words(cast.a)
    found = {path: sorted(words - data_words) for path, words in found.items() if words - data_words}
    assert found == {}, "\n".join(f"{path}: {words}" for path, words in found.items())
