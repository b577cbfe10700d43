"""E-mail open and click tracking: the HTML alternative's links and pixel, first open and first click
recorded once, the redirect only to the message's own URL, nothing across tenants, campaign rates; and
service bookings attributed to a campaign within its window."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import consent_record, person_create
from crm.dealerships.models import OpeningHours, Rooftop
from crm.marketing import campaigns, tracking
from crm.marketing.channels import message_send
from crm.marketing.models import Campaign, Message, MessageTemplate, SendingRules, TemplateText
from tenants.models import DealerGroup, DealerGroupStatus

pytestmark = pytest.mark.django_db

OFFER = "https://shop.example.com/offer?car=golf&season=spring"
BODY = ("Hello {{ given_name }}, tyres & wheels <50% off>!\n\nSee " + OFFER + ".\n"
        "Stop: {{ unsubscribe_url }}")


def _at_noon() -> datetime:
    """Tomorrow at noon in the group's time zone: outside quiet hours, after every consent recorded."""
    return timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time(12)))


def _template(channel: str = "email") -> MessageTemplate:
    template = MessageTemplate.objects.create(name=f"Tyres {channel}", channel=channel)
    TemplateText.objects.create(template=template, language="en", subject="Tyre offer", body=BODY)
    return template


def _customer(family_name: str, rooftop: Rooftop | None = None):
    person = person_create(by=None, fields={"family_name": family_name, "given_name": "Mia", "rooftop": rooftop},
                           emails=[f"{family_name.lower()}@example.de"])
    consent_record(person=person, by=None, channel="email", purpose="marketing", granted=True, source="form")
    return person


def _html(email) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return html


def _path(url: str) -> str:
    return urlsplit(url).path


def _tracked_paths(email) -> tuple[str, str]:
    """The click path of the offer link and the pixel path in one e-mail."""
    html = _html(email)
    clicks = [href for href in re.findall(r'href="([^"]+)"', html) if "/m/c/" in href]
    [pixel] = re.findall(r'<img src="([^"]+)"', html)
    return _path(clicks[0]), _path(pixel)


@pytest.fixture
def sent(cast, mailoutbox):
    """One marketing e-mail sent to Mia in tenant A, as its Celery worker would (with the group, so its host)."""
    with tenant_context(cast.a):
        message = message_send(person=_customer("Mailer"), template=_template(), key="track:1", now=_at_noon())
    assert message.status == "sent" and len(mailoutbox) == 1
    click, pixel = _tracked_paths(mailoutbox[0])
    return {"message": message, "click": click, "pixel": pixel, "email": mailoutbox[0]}


def _tracking_of(cast, message: Message, tenant: DealerGroup | None = None) -> tuple:
    with schema_context((tenant or cast.a).schema_name):
        return Message.objects.values_list("opened_at", "clicked_at").get(pk=message.pk)


def test_the_e_mail_has_an_html_alternative_with_tracked_links_a_direct_unsubscribe_link_and_a_pixel(cast, sent):
    email, host = sent["email"], cast.a.primary_host
    html = _html(email)

    assert email.body.startswith("Hello Mia, tyres & wheels <50% off>!")  # the plain text as written
    assert "tyres &amp; wheels &lt;50% off&gt;!</p>" in html  # escaped, paragraphs kept
    links = {text: href for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', html)}
    offer = OFFER.replace("&", "&amp;")
    assert links[offer].startswith(f"https://{host}/m/c/")
    assert f">{offer}</a>.<br>" in html  # the full stop ends the sentence, not the link
    [unsubscribe] = [text for text in links if "/unsubscribe/" in text]
    assert links[unsubscribe] == unsubscribe and unsubscribe.startswith(f"https://{host}/unsubscribe/")
    assert re.search(rf'<img src="https://{re.escape(host)}/m/o/[^"]+\.gif" width="1" height="1" alt=""', html)
    assert html.index("<img") > html.index(unsubscribe)  # at the end


def test_the_pixel_records_the_first_open_only(cast, sent):
    visitor = cast.client(cast.a)

    first = visitor.get(sent["pixel"])
    opened_at, clicked_at = _tracking_of(cast, sent["message"])
    again = visitor.get(sent["pixel"])

    assert first.status_code == 200 and first["Content-Type"] == "image/gif" and first["Cache-Control"] == "no-store"
    assert first.content == tracking.PIXEL and first.content.startswith(b"GIF89a\x01\x00\x01\x00")
    assert opened_at is not None and clicked_at is None
    assert again.status_code == 200 and _tracking_of(cast, sent["message"]) == (opened_at, None)


def test_a_click_goes_to_exactly_the_original_url_and_records_the_click_and_the_open(cast, sent):
    visitor = cast.client(cast.a)

    response = visitor.get(sent["click"])
    opened_at, clicked_at = _tracking_of(cast, sent["message"])
    visitor.get(sent["click"])
    visitor.get(sent["pixel"])

    assert response.status_code == 302 and response["Location"] == OFFER
    assert opened_at is not None and clicked_at is not None
    assert _tracking_of(cast, sent["message"]) == (opened_at, clicked_at)  # the first time counts, once


def test_a_tampered_or_garbage_token_finds_nothing_and_changes_nothing(cast, sent):
    visitor = cast.client(cast.a)
    click_token = sent["click"].split("/")[3]
    pixel_token = sent["pixel"].split("/")[3].removesuffix(".gif")
    with schema_context(cast.a.schema_name):
        elsewhere = signing.dumps([cast.a.schema_name, sent["message"].pk, "https://evil.example/"], salt="other")
    tampered = [f"/m/c/{click_token[:-3]}xyz/", f"/m/o/{pixel_token[:-3]}xyz.gif",
                f"/m/c/{pixel_token}/", f"/m/o/{click_token}.gif",  # one kind's token for the other
                f"/m/c/{elsewhere}/", "/m/c/%00%ff/", "/m/o/:.gif", "/m/c/a:b:c/", "/m/o/..gif"]

    statuses = [visitor.get(path).status_code for path in tampered]

    assert statuses == [404] * len(tampered)
    assert _tracking_of(cast, sent["message"]) == (None, None)


def test_a_token_of_one_group_is_worthless_on_another_groups_host(cast, sent, mailoutbox):
    with tenant_context(cast.b):
        theirs = message_send(person=_customer("Bravo"), template=_template(), key="track:b", now=_at_noon())
    with schema_context(cast.a.schema_name):
        # Signed in A for the id of B's message: the ids of two schemas can meet.
        forged = (_path(tracking.open_url(theirs)), _path(tracking.click_url(theirs, OFFER)))
    stranger = cast.client(cast.b)

    statuses = [stranger.get(path).status_code for path in (sent["pixel"], sent["click"], *forged)]

    assert statuses == [404, 404, 404, 404]
    assert _tracking_of(cast, sent["message"]) == (None, None)
    assert _tracking_of(cast, theirs, cast.b) == (None, None)


def test_tracking_still_records_while_the_group_is_suspended(cast, sent):
    DealerGroup.objects.filter(pk=cast.a.pk).update(status=DealerGroupStatus.SUSPENDED)
    visitor = cast.client(cast.a)

    assert visitor.get("/crm/").status_code == 402
    assert visitor.get(sent["pixel"]).status_code == 200
    assert visitor.get(sent["click"])["Location"] == OFFER
    assert None not in _tracking_of(cast, sent["message"])


def test_campaign_results_count_opens_and_clicks_and_the_page_shows_their_rates(cast, mailoutbox):
    with schema_context(cast.a.schema_name):
        SendingRules.objects.create(quiet_from="00:00", quiet_until="00:00")
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        for name in ("Leser", "Klicker", "Still"):
            _customer(name, hamburg)
        campaign = campaigns.campaign_create(name="Tyres", template=_template(), criteria={"rooftop": hamburg},
                                             by=None)
        campaigns.audience_freeze(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(status="sending")
        assert campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None) == "done"
        sms = campaigns.campaign_create(name="Tyres by SMS", template=_template("sms"),
                                        criteria={"rooftop": hamburg}, by=None)
        Campaign.objects.filter(pk=sms.pk).update(status="done")
    by_reader = {email.to[0]: _tracked_paths(email) for email in mailoutbox}
    visitor = cast.client(cast.a)
    visitor.get(by_reader["leser@example.de"][1])  # opens
    visitor.get(by_reader["klicker@example.de"][0])  # clicks without loading pictures
    admin = cast.signed_in(cast.a, cast.a_admin)

    with schema_context(cast.a.schema_name):
        results = campaigns.campaign_results(campaign)
    page = admin.get(f"/crm/marketing/campaigns/{campaign.pk}/").text
    sms_page = admin.get(f"/crm/marketing/campaigns/{sms.pk}/").text

    assert (results["sent"], results["emailed"], results["opened"], results["clicked"]) == (3, 3, 2, 1)
    assert re.search(r"<strong>2</strong> opened \(67% of e-mails sent\)", page)
    assert re.search(r"<strong>1</strong> clicked a link \(33% of e-mails sent\)", page)
    assert "of e-mails sent" not in sms_page and "Opens are counted" not in sms_page


def test_a_service_booking_counts_for_the_campaign_only_within_its_window_after_the_message(cast, mailoutbox):
    from crm.service.booking import appointment_book, slots_generate
    from crm.service.models import CapacityRule, ServiceType, Slot

    with schema_context(cast.a.schema_name):
        SendingRules.objects.create(quiet_from="00:00", quiet_until="00:00")
        hamburg, berlin = Rooftop.objects.get(name="Alpha Hamburg"), Rooftop.objects.get(name="Alpha Berlin")
        for weekday in range(7):
            OpeningHours.objects.update_or_create(rooftop=berlin, weekday=weekday,
                                                  defaults={"opens": time(8), "closes": time(12)})
        tyres = ServiceType.objects.get(code="tyres")
        CapacityRule.objects.create(rooftop=berlin, service_type=tyres, daily_hours=Decimal("3"))
        slots_generate(berlin, timezone.localdate() + timedelta(days=1), 1)
        slots = iter(Slot.objects.filter(rooftop=berlin).order_by("starts_at"))
        within, late, early, _silent = (_customer(name, hamburg) for name in ("Within", "Late", "Early", "Silent"))

        def book(person) -> None:
            car = Vehicle.objects.create(make="VW", model="Golf")
            VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
            appointment_book(slot=next(slots), service_type=tyres, vehicle=car, person=person, by=None)

        campaign = campaigns.campaign_create(name="Tyres", template=_template(), criteria={"rooftop": hamburg},
                                             by=None, attribution_days=30)
        book(early)  # before the message went out
        campaigns.audience_freeze(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(status="sending")
        campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None)
        Message.objects.filter(key=f"campaign:{campaign.pk}:{late.pk}").update(
            sent_at=timezone.now() - timedelta(days=31))  # so today's booking falls after its window
        book(within)
        book(late)

        result = campaigns.campaign_attribution(campaign)

    assert (result["sent"], result["booked"]) == (4, 1)


def test_a_link_a_customer_typed_as_their_name_is_never_made_clickable(cast, mailoutbox):
    """Someone enters a phishing address as their name on the web form: the dealer's e-mail shows it as
    text, with no link and no redirect through the dealer's host."""
    with tenant_context(cast.a):
        person = _customer("Phisher")
        person.given_name = "https://evil.example/login"
        person.save(update_fields=["given_name"])
        message_send(person=person, template=_template(), key="track:phish", now=_at_noon())
    html = _html(mailoutbox[0])
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert "evil.example" in html and not any("evil.example" in href for href in hrefs)
    tokens = [_path(href).split("/")[3] for href in hrefs if "/m/c/" in href]
    assert [signing.loads(token, salt=tracking.CLICK_SALT)[2] for token in tokens] == [OFFER]  # the dealer's own


def test_tracking_switched_off_sends_plain_links_and_no_picture(cast, mailoutbox):
    with tenant_context(cast.a):
        SendingRules.objects.create(track_email=False)
        message_send(person=_customer("Private"), template=_template(), key="track:off", now=_at_noon())
    html = _html(mailoutbox[0])
    assert f'href="{OFFER.replace("&", "&amp;")}"' in html
    assert "/m/c/" not in html and "<img" not in html
