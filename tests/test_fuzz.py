"""No page of either host answers a server error, whatever its query or its form says.

Every GET URL pattern of both URL maps is reached as every role that uses it: anonymous visitors, a car owner,
each staff role and the dealer admin on a dealer group's host (seeded with the demo's data); anonymous visitors,
an HQ analyst and a platform operator on the platform's host. Each role starts at its home pages and follows the
links and search forms it is shown, one page per URL pattern, so path arguments are real ids; a pattern nothing
leads to is asked for with made-up arguments. While a page is asked for without a query, the query parameters
it reads are recorded; each such page is asked again with all those names set to each of a few edge values (a
huge year or month in a month's or a day's shape, an id too long to be one), then hypothesis asks it with those
names (and a stray one) set to generated values: very long, unicode, negative and huge numbers, malformed dates,
NUL characters. Then every form the roles were shown is posted as shown with its ids made too long, and as
filled in with some fields replaced by generated values.

Bounded and derandomized: every run asks the same questions. Left out: Wagtail's own admin (/cms/,
/documents/), the integration API's operations (schemathesis fuzzes them against their schema in
tests/integrations/test_api_schema.py), and forms that call Stripe, end the session or change the admin's role.
"""

import html
import re
import traceback
from collections import defaultdict, deque
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIRequest
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.functional import cached_property
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import StaffRole, User
from crm.customers.models import Person
from crm.customers.services import consent_record
from crm.surveys.services import invite
from tenants.hq.services import share_grant
from tenants.management.commands import seed_demo
from tenants.models import HqAnalyst, HqOrganisation, KpiSnapshot

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 9, 15, tzinfo=UTC)  # a Wednesday mid-month: every date on every page is this run's
PROJECT = Path(__file__).resolve().parent.parent
TENANT_URLS, PUBLIC_URLS = "config.urls_tenant", "config.urls_public"
# Wagtail's own admin and documents; the API's operations (its catch-all for other addresses is ours, asked).
LEFT_OUT = ("cms/", "documents/", "api/v1/")
# Forms not posted: Stripe is called in the request; the session or the account would end, or the admin's role.
NOT_POSTED = ("/billing/", "/signup/", "/stripe/", "/operator/", "/accounts/logout/", "/accounts/2fa/",
              "/my/profile/delete/", "/crm/settings/staff/")
WAGTAIL_PAGES = r"^((?:[\w\-]+/)*)$"
MAX_SITE_PAGES = 20  # Wagtail serves every page of the dealer's site through one pattern: several page types
QUERY_EXAMPLES, FORM_EXAMPLES = 8, 3
ANALYST, OPERATOR = "analyst@brand.fuzz", "operator@platform.fuzz"


# Which query parameters a page reads -----------------------------------------------------------------------

READ: set[str] = set()


class RecordingQueryDict(QueryDict):
    """request.GET that notes each name the page asks for."""

    def __getitem__(self, key: str) -> Any:
        READ.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        READ.add(key)
        return super().get(key, default)

    def getlist(self, key: str, default: Any = None) -> list[Any]:
        READ.add(key)
        return super().getlist(key, default)

    def __contains__(self, key: object) -> bool:
        READ.add(str(key))
        return super().__contains__(key)


def _recording_get(request: WSGIRequest) -> QueryDict:
    return RecordingQueryDict(request.environ.get("QUERY_STRING", ""), encoding=request.encoding)


# The URL maps ----------------------------------------------------------------------------------------------

def _routes(urlconf: str) -> set[str]:
    """Every URL pattern we test, spelt as ResolverMatch.route spells it."""

    def walk(patterns: list[Any], prefix: str) -> list[str]:
        found = []
        for pattern in patterns:
            route = prefix + (str(pattern.pattern).removeprefix("^") if prefix else str(pattern.pattern))
            found += walk(pattern.url_patterns, route) if isinstance(pattern, URLResolver) else [route]
        return found

    return {route for route in walk(get_resolver(urlconf).url_patterns, "") if _included(route)}


def _included(route: str) -> bool:
    return not route.startswith(LEFT_OUT)


CONVERTER_SAMPLES = {"int": "1", "str": "AB12cd", "slug": "a-slug", "uuid": "6f1b4c1e-2f1a-4c4e-9a8e-0d1c2b3a4f5e",
                     "path": "a/b"}
REGEX_SAMPLES = {"file_format": "csv", "key": "MQ:1abc:def", "schema": "t_alpha", "path": "x/y.png"}


def _made_up(route: str) -> str:
    """A path for a pattern nothing led to: each argument a plausible value of its kind."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda found: REGEX_SAMPLES.get(found.group(1), "x"), route)
    path = re.sub(r"<(?:(\w+):)?(\w+)>", lambda found: CONVERTER_SAMPLES[found.group(1) or "str"], path)
    return "/" + path.replace("\\", "").removeprefix("^").removesuffix("$")


# The site: a demo dealer group, its people and the platform's ----------------------------------------------

@dataclass
class Visitor:
    role: str
    client: Client
    urlconf: str
    starts: list[str]


@dataclass
class Form:
    action: str
    fields: dict[str, list[str]]  # name → the values it would send as shown (choices for selects and buttons)


@dataclass
class Page:
    visitor: Visitor
    url: str
    route: str
    reads: set[str]
    forms: list[Form] = field(default_factory=list)


def _site(cast: Any) -> list[Visitor]:
    group = seed_demo.DemoGroup(slug=cast.a.slug, name=cast.a.name, country="DE", language="en",
                                timezone="Europe/Berlin", currency="EUR", faker_locale="de_DE",
                                rooftops=(("Alpha Berlin", "Berlin", "Europe/Berlin"),), customers=30)
    seed_demo.Command()._seed(group)  # fewer customers: every kind of record there, in a few seconds
    with schema_context(cast.a.schema_name):
        person = Person.objects.order_by("pk").first()
        consent_record(person=person, by=None, channel="email", purpose="surveys", granted=True, source="form")
        _invitation, survey_token = invite(kind="csi_service", person=person, source_ref="fuzz:1")
    organisation = HqOrganisation.objects.create(name="Fuzz Brand", kind="brand")
    HqAnalyst.objects.create(user=User.objects.create_user(ANALYST, seed_demo.DEMO_PASSWORD), organisation=organisation)
    User.objects.create_user(OPERATOR, seed_demo.DEMO_PASSWORD, is_staff=True)
    share_grant(dealer_group=cast.a, organisation=organisation, by_email=cast.a_admin)
    for month in (date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)):
        for rooftop_id in (None, 1):
            KpiSnapshot.objects.create(dealer_group=cast.a, rooftop_id=rooftop_id, period="month", period_start=month,
                                       period_end=month + timedelta(days=30), computed_at=NOW, customers=Decimal(90),
                                       retention_rate=Decimal("61.5"), nps=Decimal(-12), visits=Decimal(40))

    def signed_in(host: str, email: str) -> Client:
        client = Client(HTTP_HOST=host)
        response = client.post("/accounts/login/", {"login": email, "password": seed_demo.DEMO_PASSWORD})
        assert response.status_code == 302, f"{email} could not sign in"
        return client

    tenant, platform = cast.a.primary_host, settings.APP_DOMAIN
    visitors = [
        Visitor("anonymous", Client(HTTP_HOST=tenant), TENANT_URLS, [
            "/", "/enquiry/", "/enquiry/embed/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/",
            "/accounts/login/code/", f"/survey/{survey_token}/", "/my/", "/crm/", "/compare/", "/health/"]),
        Visitor("owner", signed_in(tenant, seed_demo.owner_email(group)), TENANT_URLS,
                ["/my/", "/", "/accounts/email/", "/accounts/password/change/"]),
    ]
    for role in StaffRole.values:
        extra = ["/billing/", "/hq-sharing/", "/compare/"] if role == StaffRole.DEALER_ADMIN else []
        visitors.append(Visitor(role, signed_in(tenant, seed_demo.demo_email(role, group)), TENANT_URLS,
                                ["/crm/", "/accounts/2fa/", *extra]))
    # An uploaded sales file waiting for its mapping (no purchase dates in it): the import screens have a job.
    admin = next(visitor.client for visitor in visitors if visitor.role == StaffRole.DEALER_ADMIN)
    upload = admin.post("/crm/customers/imports/", {"kind": "sales", "encoding": "auto", "file": SimpleUploadedFile(
        "sales.csv", b"Last name;First name;Phone;VIN\nSchmidt;Anna;0171 2345678;WVWZZZ1KZAW000001\n",
        content_type="text/csv")})
    assert upload.status_code == 302
    visitors += [
        Visitor("platform anonymous", Client(HTTP_HOST=platform), PUBLIC_URLS,
                ["/", "/pricing/", "/signup/", "/accounts/login/", "/accounts/password/reset/", "/hq/", "/operator/"]),
        Visitor("HQ analyst", signed_in(platform, ANALYST), PUBLIC_URLS, ["/hq/"]),
        Visitor("operator", signed_in(platform, OPERATOR), PUBLIC_URLS, ["/operator/"]),
    ]
    return visitors


# Asking ----------------------------------------------------------------------------------------------------

def _ask(visitor: Visitor, failures: list[str], url: str, data: dict[str, Any] | None = None) -> Any:
    """GET (or POST ``data``) as this visitor, in a savepoint: a failed statement must not poison the requests
    after it. A 5xx or an exception is noted in ``failures`` with the line of ours it came from."""
    READ.clear()
    method = "GET" if data is None else "POST"
    try:
        with transaction.atomic():
            response = visitor.client.get(url) if data is None else visitor.client.post(url, data)
            if getattr(response, "streaming", False):  # an export fails while it streams, not before
                b"".join(response.streaming_content)
    except Exception as error:  # noqa: BLE001 - every failure is reported, with where it happened
        frames = traceback.extract_tb(error.__traceback__)
        ours = [frame for frame in frames if frame.filename.startswith(str(PROJECT)) and "/.venv/" not in
                frame.filename and not frame.filename.endswith("test_fuzz.py")] or frames
        where = f"{Path(ours[-1].filename).relative_to(PROJECT) if ours is not frames else ours[-1].filename}"
        failures.append(f"{visitor.role}: {method} {url!r} {data or ''} raised {error!r} at {where}:{ours[-1].lineno}")
        return None
    if response.status_code >= 500:
        failures.append(f"{visitor.role}: {method} {url!r} {data or ''} answered {response.status_code}")
    return response


class _Forms(HTMLParser):
    """The forms of a page: where each goes, its method, and what each field would send as shown."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[dict[str, str], dict[str, list[str]]]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.found.append((attributes, defaultdict(list)))
            return
        if not self.found or not attributes.get("name"):
            return
        fields, name = self.found[-1][1], attributes["name"]
        kind = attributes.get("type", "text").lower()
        if tag == "input" and kind not in ("file", "image", "reset"):
            if kind not in ("checkbox", "radio") or "checked" in attributes:
                fields[name].append(attributes.get("value", "on" if kind in ("checkbox", "radio") else ""))
            else:
                fields.setdefault(name, [])
        elif tag == "button" and kind == "submit":
            fields[name].append(attributes.get("value", ""))
        elif tag == "select":
            self._select = name
            fields.setdefault(name, [])
        elif tag == "option" and self._select:
            fields[self._select].insert(0 if "selected" in attributes else len(fields[self._select]),
                                        attributes.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            fields[name].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.found:
            self.found[-1][1][self._textarea][-1] += data


LINK = re.compile(r"""(?:href|hx-get)=["']([^"'#]*)""")


def _same_host(link: str, host: str) -> str | None:
    parts = urlsplit(html.unescape(link))
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc.split(":")[0] != host):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path.startswith("/") else None


def _read(response: Any, url: str, host: str) -> tuple[list[str], list[Form]]:
    """The same-host links a response leads to (a redirect, links, where GET forms go) and its POST forms."""
    if response is None:
        return [], []
    if response.status_code in (301, 302, 303, 307, 308):
        return [response["Location"]], []
    if not response.get("Content-Type", "").startswith("text/html") or getattr(response, "streaming", False):
        return [], []
    text = response.content.decode(errors="replace")
    parser = _Forms()
    parser.feed(text)
    links, forms = LINK.findall(text), []
    for attributes, fields in parser.found:
        action = _same_host(attributes.get("action") or url, host)
        if attributes.get("method", "get").lower() == "get":
            links.append(attributes.get("action") or url)
        elif action and not action.startswith(NOT_POSTED):
            forms.append(Form(action, dict(fields)))
    return [path for link in links if (path := _same_host(link, host))], forms


def _crawl(visitor: Visitor, failures: list[str]) -> list[Page]:
    """The pages this visitor is shown, one per URL pattern (several of the dealer's site), breadth first."""
    host = visitor.client.defaults["HTTP_HOST"]
    queue, pages, site_pages = deque(visitor.starts), {}, 0
    while queue:
        url = queue.popleft()
        try:
            route = resolve(urlsplit(url).path, urlconf=visitor.urlconf).route
        except Resolver404:
            continue
        key = url if route == WAGTAIL_PAGES else route
        if not _included(route) or key in pages or (route == WAGTAIL_PAGES and site_pages >= MAX_SITE_PAGES):
            continue
        site_pages += route == WAGTAIL_PAGES
        response = _ask(visitor, failures, url)
        reads = set(READ)
        links, forms = _read(response, url, host)
        pages[key] = Page(visitor, url, route, reads, forms)
        queue.extend(links)
    return list(pages.values())


# Generated values -------------------------------------------------------------------------------------------

ODD_VALUES = ["", " ", "0", "-1", "1.5", "1e309", "NaN", "-0", "9" * 30, "-" + "9" * 30, "2147483648",
              "9223372036854775808", "2026-02-30", "2026-13-01", "0000-00-00", "9999-12-31", "10000-01-01",
              "2026-11-18T25:61", "31.12.2026", "1/2/2026", "true", "null", "[]", "{}", "a" * 3000, "%", "_", "\\",
              "'; --", "<b>", "\u202e", "😀", "Ωмир漢字", "\x00", "٣", "１２", "../../etc/passwd"]
# Asked of every reading page for every name it reads, and every id a form shows: a year or month past a C int in
# the shapes pages parse ("YYYY-MM", "YYYY-MM-DD": date() raises OverflowError, not ValueError), and an id with
# more digits than int() reads (ValueError past 4,300). Too rare among the generated values to be met by chance.
HUGE = "99999999999"
EDGE_VALUES = [f"{HUGE}-01", f"2026-{HUGE}", f"{HUGE}-01-01", f"2026-01-{HUGE}", "9" * 5000]
ODD_VALUES += EDGE_VALUES[:4]
values = st.one_of(st.sampled_from(ODD_VALUES), st.integers().map(str), st.text(max_size=40),
                   st.dates(min_value=date(1, 1, 1)).map(date.isoformat))
STRAY_NAMES = ["page", "q", "sort", "x", "next", "format", "lang"]


def _query(data: Any, page: Page) -> str:
    names = [*sorted(page.reads), data.draw(st.sampled_from(STRAY_NAMES))]
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    pairs = [(name, data.draw(values)) for name in chosen for _ in range(data.draw(st.integers(1, 2)))]
    return urlencode(pairs)


def _edge_query(page: Page, value: str) -> str:
    return page.url + ("&" if "?" in page.url else "?") + urlencode([(name, value) for name in sorted(page.reads)])


def _ids_too_long(form: Form) -> dict[str, Any]:
    """The form as shown, with every value that is an id (all digits) made too long to be one."""
    return {name: EDGE_VALUES[-1] if choices[0].isdecimal() else choices[0]
            for name, choices in form.fields.items() if choices}


def _filled(data: Any, form: Form) -> dict[str, Any]:
    """The form as shown, one choice per select and button, with none, some or all of its fields replaced by
    generated values or left out (as shown first: hypothesis starts from its simplest example)."""
    sent: dict[str, Any] = {name: data.draw(st.sampled_from(choices)) for name, choices in form.fields.items()
                            if choices}
    names = sorted(form.fields)
    if names:
        for name in data.draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True)):
            sent[name] = data.draw(st.one_of(values, st.none()))
    return {name: value for name, value in sent.items() if value is not None}


def test_no_page_or_form_of_either_host_answers_a_server_error(cast, monkeypatch):
    get = cached_property(_recording_get)
    get.__set_name__(WSGIRequest, "GET")
    monkeypatch.setattr(WSGIRequest, "GET", get)
    failures: list[str] = []
    with time_machine.travel(NOW, tick=True):
        visitors = _site(cast)
        pages = [page for visitor in visitors for page in _crawl(visitor, failures)]

        # Patterns nothing leads to: asked for with made-up arguments, as a signed-in user and anonymously.
        for urlconf, asking in ((TENANT_URLS, ("dealer_admin", "anonymous")),
                                (PUBLIC_URLS, ("operator", "platform anonymous"))):
            reached = {page.route for page in pages if page.visitor.urlconf == urlconf}
            for route in sorted(_routes(urlconf) - reached):
                for visitor in (visitor for visitor in visitors if visitor.role in asking):
                    _ask(visitor, failures, url := _made_up(route))
                    pages.append(Page(visitor, url, route, set(READ)))
        for urlconf in (TENANT_URLS, PUBLIC_URLS):
            assert _routes(urlconf) <= {page.route for page in pages if page.visitor.urlconf == urlconf}

        # Each page that reads its query, and each kind of form, as one of the roles that were shown it.
        readers: dict[str, list[Page]] = defaultdict(list)
        for page in pages:
            if page.reads:
                readers[page.route].append(page)
        posters: dict[tuple[str, tuple[str, ...]], list[tuple[Visitor, Form]]] = defaultdict(list)
        for page in pages:
            for form in page.forms:
                with suppress(Resolver404):
                    route = resolve(urlsplit(form.action).path, urlconf=page.visitor.urlconf).route
                    posters[route, tuple(sorted(form.fields))].append((page.visitor, form))
        generated = {"derandomize": True, "database": None, "deadline": None, "phases": [Phase.generate],
                     "suppress_health_check": list(HealthCheck)}

        @hypothesis_settings(max_examples=QUERY_EXAMPLES, **generated)
        @given(st.data())
        def every_reading_page_with_a_generated_query(data: Any) -> None:
            for variants in readers.values():
                page = variants[data.draw(st.integers(0, len(variants) - 1))]
                _ask(page.visitor, failures, page.url + ("&" if "?" in page.url else "?") + _query(data, page))

        @hypothesis_settings(max_examples=FORM_EXAMPLES, **generated)
        @given(st.data())
        def every_kind_of_form_with_generated_fields(data: Any) -> None:
            for variants in posters.values():
                visitor, form = variants[data.draw(st.integers(0, len(variants) - 1))]
                _ask(visitor, failures, form.action, _filled(data, form))

        for variants in readers.values():
            for value in EDGE_VALUES:
                _ask(variants[0].visitor, failures, _edge_query(variants[0], value))
        every_reading_page_with_a_generated_query()
        for variants in posters.values():  # forms change things: after every page was read
            _ask(variants[0][0], failures, variants[0][1].action, _ids_too_long(variants[0][1]))
        every_kind_of_form_with_generated_fields()  # last: forms change things

    # Collected rather than raised (so not shrunk): one run names every request that failed, and where.
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(dict.fromkeys(failures))
