"""Web lead capture: the enquiry form makes a prospect through the duplicate check and routing, and
keeps nothing from bots."""

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.tasks import email_send
from crm.customers.models import Consent, DuplicateCandidate, Person, TimelineEntry
from crm.customers.services import consent_record, person_create
from crm.dealerships.models import Rooftop
from crm.sales import selectors, services
from crm.sales.lead_forms import form_token
from crm.sales.models import Contact, History, Prospect, SalesSchedule
from crm.sales.services import FirstContact

pytestmark = pytest.mark.django_db


def _token(tenant, seconds_ago: float = 10) -> str:
    with schema_context(tenant.schema_name):
        return form_token(time.time() - seconds_ago)


def _enquiry(tenant, **fields) -> dict[str, str]:
    return {"given_name": "Ivan", "family_name": "Petrov", "phone": "+49 151 23456789", "email": "",
            "condition": "new", "model_interest": "ID.4", "message": "Is the blue one still there?",
            "source_detail": "", "website": "", "token": _token(tenant), **fields}


def _visitor(tenant, address: str = "10.0.0.1", **options) -> Client:
    return Client(HTTP_HOST=tenant.primary_host, REMOTE_ADDR=address, **options)


@pytest.fixture
def alpha(cast):
    with schema_context(cast.a.schema_name):
        return {"berlin": Rooftop.objects.get(name="Alpha Berlin"),
                "anna": User.objects.get(email=cast.a_salesperson)}


@pytest.fixture
def mail_now(monkeypatch, django_capture_on_commit_callbacks):
    """E-mails queued on commit are sent at once, in this process, into the test outbox."""
    monkeypatch.setattr(email_send, "apply_async",
                        lambda args=(), kwargs=None, **options: email_send.run(*args, **(kwargs or {})))
    return django_capture_on_commit_callbacks


def test_a_valid_enquiry_creates_the_customer_and_a_prospect_for_the_salesperson_on_schedule(cast, alpha):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with schema_context(cast.a.schema_name):
        SalesSchedule.objects.create(user=alpha["anna"], rooftop=alpha["berlin"], weekdays=list(range(7)))

    response = _visitor(cast.a).post("/enquiry/?src=spring-campaign", _enquiry(
        cast.a, rooftop=str(alpha["berlin"].pk), test_drive="on", test_drive_on=tomorrow.isoformat(),
        trade_in="on", source_detail="spring-campaign"))

    assert response.status_code == 302 and response["Location"].startswith("/enquiry/thanks/")
    with schema_context(cast.a.schema_name):
        person = Person.objects.get(phones__number="+4915123456789")
        prospect = Prospect.objects.get(person=person)
        assert (person.channel, person.rooftop, person.name_key) == ("website", alpha["berlin"], "ivan petrov")
        assert (prospect.source, prospect.source_detail, prospect.level) == ("web_form", "spring-campaign", "H")
        assert (prospect.salesperson, prospect.rooftop, prospect.trade_in) == (alpha["anna"], alpha["berlin"], True)
        assert f"Test drive requested, preferred date: {tomorrow.isoformat()}" in prospect.notes
        assert "Is the blue one still there?" in prospect.notes
        # In the salesperson's list today, and nothing agreed to that was not ticked.
        assert [c.prospect for c in selectors.my_day(alpha["anna"]).contacts] == [prospect]
        assert not Consent.objects.filter(person=person).exists()
        assert TimelineEntry.objects.filter(person=person, kind="message", body__contains="blue one").exists()


def test_the_form_page_asks_for_the_rooftop_only_where_there_are_several(cast):
    alpha = _visitor(cast.a).get("/enquiry/?src=homepage")
    bravo = _visitor(cast.b).get("/enquiry/")

    assert alpha.status_code == 200 and "rooftop" in alpha.context["form"].fields
    assert alpha.context["form"]["source_detail"].value() == "homepage"
    assert bravo.status_code == 200 and "rooftop" not in bravo.context["form"].fields
    assert 'name="website"' in alpha.text and "Leave this field empty" in alpha.text
    consent = re.search(r'<input[^>]*name="marketing_consent"[^>]*>', alpha.text).group(0)
    assert "checked" not in consent and "Alpha Motors may send me" in alpha.text


def test_a_honeypot_a_too_fast_or_a_forged_post_is_thanked_and_kept_nowhere(cast):
    posts = [
        _enquiry(cast.a, website="http://cheap-pills.example"),
        _enquiry(cast.a, token=_token(cast.a, seconds_ago=1)),
        _enquiry(cast.a, token="1700000000:forged"),
        _enquiry(cast.a, token=_token(cast.b)),  # another dealer group's page
        {key: value for key, value in _enquiry(cast.a).items() if key != "token"},
    ]
    for data in posts:
        response = _visitor(cast.a).post("/enquiry/", data)
        assert response.status_code == 302 and response["Location"] == "/enquiry/thanks/"
    assert _visitor(cast.a).post("/enquiry/embed/", posts[0]).status_code == 200
    with schema_context(cast.a.schema_name):
        assert not Person.objects.filter(family_name="Petrov").exists()
        assert not Prospect.objects.exists()


def test_a_page_open_for_over_a_day_asks_to_send_again_with_a_fresh_token(cast):
    stale = _token(cast.a, seconds_ago=2 * 24 * 3600)
    response = _visitor(cast.a).post("/enquiry/", _enquiry(cast.a, token=stale))

    assert response.status_code == 400 and "more than a day" in response.text
    assert response.context["form"]["token"].value() != stale
    with schema_context(cast.a.schema_name):
        assert not Prospect.objects.exists()


def test_the_sixth_enquiry_in_an_hour_from_one_network_is_refused_and_each_group_counts_its_own(cast):
    for n in range(5):
        response = _visitor(cast.a, "10.6.6.6").post("/enquiry/", _enquiry(
            cast.a, given_name=f"Lead{n}", phone=f"+49 151 2345678{n}"))
        assert response.status_code == 302
    refused = _visitor(cast.a, "10.6.6.6").post("/enquiry/", _enquiry(cast.a, given_name="Six", phone="",
                                                                                 email="six@example.de"))
    elsewhere = _visitor(cast.a, "10.7.7.7").post("/enquiry/", _enquiry(cast.a, given_name="Other", phone="",
                                                                         email="other@example.de"))
    other_group = _visitor(cast.b, "10.6.6.6").post("/enquiry/", _enquiry(cast.b, phone="8 912 345-67-89"))

    assert refused.status_code == 429 and "Too many enquiries" in refused.text
    assert elsewhere.status_code == 302 and other_group.status_code == 302
    with schema_context(cast.a.schema_name):
        assert Prospect.objects.count() == 6 and not Person.objects.filter(given_name="Six").exists()
    with schema_context(cast.b.schema_name):
        # Bravo is in Russia: a national number is read as Russian.
        assert Prospect.objects.get().person.phones.get().number == "+79123456789"


def test_a_known_customer_written_in_another_script_is_reused_and_only_gains_what_was_missing(cast):
    with schema_context(cast.a.schema_name):
        known = person_create(by=None, fields={"family_name": "Петров", "given_name": "Иван"},
                              phones=["+4915123456789"])
        with_email = person_create(by=None, fields={"family_name": "Schmidt", "given_name": "Eva"},
                                   phones=["+4915199999999"], emails=["eva@example.de"])

    _visitor(cast.a).post("/enquiry/", _enquiry(cast.a, phone="0151 23456789", email="ivan@example.de"))
    _visitor(cast.a, "10.0.0.2").post("/enquiry/", _enquiry(cast.a, given_name="Eva", family_name="Schmidt",
                                                             phone="+49 151 11111111", email="eva@example.de"))

    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(name_key="ivan petrov").count() == 1
        assert list(known.emails.values_list("address", flat=True)) == ["ivan@example.de"]
        assert Prospect.objects.get(person=known).source == "web_form"
        # Eva had a phone already: the one typed into an anonymous form does not replace it.
        assert list(with_email.phones.values_list("number", flat=True)) == ["+4915199999999"]
        assert Prospect.objects.filter(person=with_email).exists()
        assert "+49 1511 1111111" in Prospect.objects.get(person=with_email).notes  # shown to the salesperson


def test_the_same_phone_with_another_name_is_a_new_customer_and_a_near_name_goes_to_review(cast):
    with schema_context(cast.a.schema_name):
        known = person_create(by=None, fields={"family_name": "Petrov", "given_name": "Ivan"},
                              phones=["+4915123456789"])

    _visitor(cast.a).post("/enquiry/", _enquiry(cast.a, given_name="Maria", family_name="Petrova"))
    _visitor(cast.a, "10.0.0.2").post("/enquiry/", _enquiry(cast.a, given_name="Iwan", family_name="Petrov"))

    with schema_context(cast.a.schema_name):
        maria = Person.objects.get(given_name="Maria")
        iwan = Person.objects.get(given_name="Iwan")
        assert maria != known and iwan != known
        assert Prospect.objects.filter(person__in=[maria, iwan]).count() == 2
        pairs = set(DuplicateCandidate.objects.values_list("person_a", "person_b"))
        assert (known.pk, iwan.pk) in pairs and (known.pk, maria.pk) not in pairs


def test_an_enquiry_from_a_held_customer_goes_to_the_holder_today_instead_of_a_second_prospect(cast, alpha,
                                                                                            mailoutbox, mail_now):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        customer = person_create(by=None, fields={"family_name": "Petrov", "given_name": "Ivan"},
                                 phones=["+4915123456789"])
        held = services.prospect_create(person=customer, by=alpha["anna"], level="C", rooftop=alpha["berlin"],
                                        fields={"source": "walk_in"}, first_contact=FirstContact("visit", "reached"))
        assert Contact.objects.get(prospect=held, done_at__isnull=True).planned_on > today

    with mail_now(execute=True):
        response = _visitor(cast.a).post("/enquiry/", _enquiry(cast.a, test_drive="on"))

    assert response.status_code == 302
    with schema_context(cast.a.schema_name):
        assert Prospect.objects.filter(person=customer).count() == 1
        enquiry = History.objects.get(prospect=held, kind="enquiry")
        assert "Is the blue one still there?" in enquiry.note and "Test drive requested" in enquiry.note
        plan = Contact.objects.get(prospect=held, done_at__isnull=True)
        assert (plan.planned_on, plan.due_by) == (today, today + timedelta(days=1))
        assert Prospect.objects.get(pk=held.pk).next_contact_on == today
        assert [c.prospect for c in selectors.my_day(alpha["anna"]).contacts] == [held]
        assert TimelineEntry.objects.filter(person=customer, kind="message", body__contains="blue one").exists()
    assert [message.to for message in mailoutbox] == [[cast.a_salesperson]]
    assert "Is the blue one still there?" in mailoutbox[0].body
    assert f"/crm/sales/prospects/{held.pk}/" in mailoutbox[0].body


def test_with_nobody_on_schedule_the_prospect_waits_and_the_managers_are_told(cast, mailoutbox, mail_now):
    with mail_now(execute=True):
        response = _visitor(cast.a).post("/enquiry/", _enquiry(cast.a))

    assert response.status_code == 302
    with schema_context(cast.a.schema_name):
        prospect = Prospect.objects.get(person__family_name="Petrov")
        assert (prospect.salesperson, prospect.level) == (None, "B")
        assert prospect.rooftop == Rooftop.objects.filter(is_active=True).order_by("name").first()
    assert [message.to for message in mailoutbox] == [[cast.a_admin]]
    assert "waiting for a salesperson" in mailoutbox[0].subject


def test_marketing_consent_is_recorded_per_channel_given_only_when_ticked(cast):
    _visitor(cast.a).post("/enquiry/", _enquiry(cast.a, email="ivan@example.de", marketing_consent="on"))
    _visitor(cast.a, "10.0.0.2").post("/enquiry/", _enquiry(cast.a, given_name="Otto", family_name="Normal",
                                                             phone="", email="otto@example.de"))

    with schema_context(cast.a.schema_name):
        consents = Consent.objects.filter(person__given_name="Ivan")
        assert sorted(consents.values_list("channel", "purpose", "granted")) == [
            ("email", "marketing", True), ("sms", "marketing", True)]
        assert all(c.source == "web enquiry form" and "Alpha Motors" in c.proof for c in consents)
        assert not Consent.objects.filter(person__given_name="Otto").exists()


def test_an_anonymous_form_never_overrides_a_withdrawal_nor_grants_for_contacts_not_on_file(cast):
    with schema_context(cast.a.schema_name):
        known = person_create(by=None, fields={"family_name": "Petrov", "given_name": "Ivan"},
                              phones=["+4915123456789"], emails=["ivan@home.example"])
        consent_record(person=known, by=None, channel="sms", purpose="marketing", granted=False, source="call")

    # The same phone and name: the customer is recognised; the e-mail typed is not the one on file.
    _visitor(cast.a).post("/enquiry/", _enquiry(cast.a, email="someone@else.example", marketing_consent="on"))

    with schema_context(cast.a.schema_name):
        assert list(Consent.objects.filter(person=known).values_list("channel", "granted")) == [("sms", False)]
        assert Prospect.objects.filter(person=known, source="web_form").exists()


def test_field_errors_are_shown_and_nothing_is_kept(cast):
    yesterday = timezone.localdate() - timedelta(days=2)
    response = _visitor(cast.a).post("/enquiry/", _enquiry(
        cast.a, given_name="", phone="12", email="not-an-address", test_drive_on=yesterday.isoformat()))
    neither = _visitor(cast.a).post("/enquiry/", _enquiry(cast.a, phone="", email=""))

    assert response.status_code == 400 and neither.status_code == 400
    errors = response.context["form"].errors
    assert {"given_name", "phone", "email", "test_drive_on"} <= errors.keys()
    assert "phone number or an e-mail" in neither.context["form"].errors["phone"][0]
    with schema_context(cast.a.schema_name):
        assert not Prospect.objects.exists()


def test_names_in_any_script_and_the_page_in_the_visitors_language(cast):
    chinese = _visitor(cast.a).post("/enquiry/?lang=zh-hans", _enquiry(cast.a, family_name="张", given_name="伟",
                                                                        phone="", email="wei@example.cn"))
    page = _visitor(cast.a).get("/enquiry/?lang=zh-hans")

    assert chinese.status_code == 302 and chinese["Location"] == "/enquiry/thanks/?lang=zh-hans"
    assert list(page.context["form"].fields)[:2] == ["family_name", "given_name"]
    assert '<html lang="zh-hans">' in page.text
    with schema_context(cast.a.schema_name):
        person = Person.objects.get(emails__address="wei@example.cn")
        assert (person.name_key, person.display_name, person.preferred_language) == ("wei zhang", "张伟", "zh-hans")


def test_only_the_embed_variant_may_be_framed_by_the_dealers_website(cast):
    page = _visitor(cast.a).get("/enquiry/")
    embed = _visitor(cast.a).get("/enquiry/embed/?src=dealer-site")
    # Framed on another site the CSRF cookie is not sent back: the embed takes posts without it.
    framed = _visitor(cast.a, enforce_csrf_checks=True).post("/enquiry/embed/", _enquiry(cast.a))
    direct = _visitor(cast.a, enforce_csrf_checks=True).post("/enquiry/", _enquiry(cast.a, given_name="Otto"))

    assert page["X-Frame-Options"] == "DENY"
    assert embed.status_code == 200 and "X-Frame-Options" not in embed
    assert 'class="topbar"' not in embed.text and 'class="topbar"' in page.text
    assert framed.status_code == 200 and "X-Frame-Options" not in framed and "Thank you" in framed.text
    assert direct.status_code == 403
    with schema_context(cast.a.schema_name):
        assert Prospect.objects.filter(person__given_name="Ivan").exists()

