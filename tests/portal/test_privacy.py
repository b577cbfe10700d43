"""Profile and privacy: details the owner confirms are kept as verified, preferences go to the consent ledger,
the data download holds exactly the owner's data, and a deletion request reaches the dealer once."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import Consent, Person, TimelineEntry, Vehicle, VehicleLink
from crm.customers.selectors import consent_allows
from crm.customers.services import consent_record, person_create
from crm.loyalty.models import Reward, Voucher
from crm.loyalty.services import club_join, points_adjust, reward_redeem
from crm.service.models import ServiceVisit
from portal.models import CustomerLink, DeletionRequest, VehicleClaim
from tests.conftest import run_as_the_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga(cast):
    """Olga (the cast's car owner) is the customer Olga Owner with a Corsa and a visit; her neighbour Nina is
    another customer with her own car, visit and consent."""
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Owner", "given_name": "Olga"},
                               emails=[cast.a_owner], phones=["+49 30 1234567"])
        car = Vehicle.objects.create(vin="WVWZZZ1KZAW000007", make="Opel", model="Corsa")
        VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
        ServiceVisit.objects.create(vehicle=car, person=person, opened_on=date(2026, 3, 2), status="closed",
                                    total_amount=Decimal("321.00"), order_number="RO-OLGA")
        user = User.objects.get(email=cast.a_owner)
        CustomerLink.objects.create(user=user, person=person, proof="email")
        VehicleClaim.objects.create(user=user, vehicle=car, channel="email", sent_to="x", code_hash="x", holder=person,
                                    expires_at=timezone.now(), confirmed_at=timezone.now())
        nina = person_create(by=None, fields={"family_name": "Nachbarin", "given_name": "Nina"},
                             emails=["nina@example.de"])
        other = Vehicle.objects.create(vin="WVWZZZ1KZAW000006", make="Fiat", model="Panda")
        VehicleLink.objects.create(vehicle=other, person=nina, kind="owner")
        ServiceVisit.objects.create(vehicle=other, person=nina, opened_on=date(2026, 4, 1), status="closed",
                                    total_amount=Decimal("777.00"), order_number="RO-NINA")
        consent_record(person=nina, by=None, channel="sms", purpose="marketing", granted=True, source="form")
    return {"person": person, "nina": nina}


def _form(**changes):
    return {"given_name": "Olga", "family_name": "Owner", "phone": "+49 30 1234567", "address": "",
            "preferred_language": "en", **changes}


def test_confirmed_details_are_kept_as_verified_and_preferences_go_to_the_ledger(cast, olga):
    client = cast.signed_in(cast.a, cast.a_owner)
    assert client.get("/my/profile/").context["form"]["email_marketing"].value() is False
    bad = client.post("/my/profile/", _form(phone="call me"))
    assert bad.status_code == 400 and "This does not look like a phone number." in bad.text
    saved = client.post("/my/profile/", _form(phone="0151 2345678", address="Hauptstr. 1, Berlin",
                                              email_marketing="on", email_service_reminders="on"), follow=True)
    assert "your details and choices are saved" in saved.text
    client.post("/my/profile/", _form(phone="0151 2345678", address="Hauptstr. 1, Berlin",
                                      email_marketing="on", email_service_reminders="on"))  # the same again
    with schema_context(cast.a.schema_name):
        person = Person.objects.get(pk=olga["person"].pk)
        assert person.address == "Hauptstr. 1, Berlin" and person.address_verified_at is not None
        primary = person.phones.get(is_primary=True)
        assert (primary.number, primary.verified_at is not None) == ("+491512345678", True)
        assert person.emails.get().verified_at is not None
        assert consent_allows(person, channel="email", purpose="marketing")
        ledger = Consent.objects.filter(person=person)
        assert ledger.count() == 2 and set(ledger.values_list("source", flat=True)) == {"portal"}  # changes only
    client.post("/my/profile/", _form(email_service_reminders="on"))  # marketing unticked: withdrawn
    with schema_context(cast.a.schema_name):
        assert not consent_allows(olga["person"], channel="email", purpose="marketing")


def test_the_download_holds_exactly_the_owners_data(cast, olga):
    with schema_context(cast.a.schema_name):  # both are club members with points and a voucher
        admin = User.objects.get(email=cast.a_admin)
        for person, points in ((olga["person"], 400), (olga["nina"], 900)):
            club_join(person=person, accepted_terms=True, by=None, source="test")
            points_adjust(person=person, points=points, reason=f"Bonus {points}", by=admin)
            reward_redeem(person=person, reward=Reward.objects.get(points_cost=300), by=None)
        nina_code = Voucher.objects.get(person=olga["nina"]).code
    response = cast.signed_in(cast.a, cast.a_owner).get("/my/profile/export/")
    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    data = json.loads(response.content)
    assert data["customer"]["family_name"] == "Owner" and data["account"]["email"] == cast.a_owner
    assert [car["vin"] for car in data["cars"]] == ["WVWZZZ1KZAW000007"]
    assert [visit["order_number"] for visit in data["visits"]] == ["RO-OLGA"]
    text = response.content.decode()
    assert "Nachbarin" not in text and "RO-NINA" not in text and "WVWZZZ1KZAW000006" not in text
    assert data["consents"] == []  # Nina's consent is hers
    assert len(data["club"]) == 1 and [entry["points"] for entry in data["points"]] == [400, -300]
    assert len(data["vouchers"]) == 1 and nina_code not in text and "Bonus 900" not in text


def test_a_deletion_request_reaches_the_dealer_once(cast, olga, mailoutbox, django_capture_on_commit_callbacks):
    client = cast.signed_in(cast.a, cast.a_owner)
    assert "Tick the box" in client.post("/my/profile/delete/", {}, follow=True).text
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post("/my/profile/delete/", {"confirm": "on", "reason": "Sold the car"})
    client.post("/my/profile/delete/", {"confirm": "on"})
    run_as_the_worker(callbacks)
    assert [message.to for message in mailoutbox] == [[cast.a_admin]]
    assert "Sold the car" in mailoutbox[0].body
    with schema_context(cast.a.schema_name):
        request = DeletionRequest.objects.get()
        assert (request.person, request.reason) == (olga["person"], "Sold the car")
        assert TimelineEntry.objects.filter(person=olga["person"], summary__contains="deleted").exists()


def test_an_account_not_yet_a_customer_sees_how_to_connect_and_downloads_only_itself(cast):
    with schema_context(cast.a.schema_name):
        User.objects.create_user("fresh@alpha.test", cast.password)
    client = cast.signed_in(cast.a, "fresh@alpha.test")
    assert "not yet connected to your customer record" in client.get("/my/profile/").text
    data = json.loads(client.get("/my/profile/export/").content)
    assert set(data) == {"account", "exported_at", "cars"} and data["cars"] == []


def test_dealer_admins_see_and_handle_deletion_requests(cast, olga):
    cast.signed_in(cast.a, cast.a_owner).post("/my/profile/delete/", {"confirm": "on", "reason": "Moving abroad"})
    admin = cast.signed_in(cast.a, cast.a_admin)
    page = admin.get("/my/deletion-requests/")
    assert "Moving abroad" in page.text and "Olga Owner" in page.text
    with schema_context(cast.a.schema_name):
        request = DeletionRequest.objects.get()
    admin.post(f"/my/deletion-requests/{request.pk}/handled/")
    with schema_context(cast.a.schema_name):
        assert DeletionRequest.objects.get().handled_at is not None
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/my/deletion-requests/").status_code == 403
    assert cast.signed_in(cast.a, cast.a_owner).get("/my/deletion-requests/").status_code == 403
    assert "Moving abroad" not in cast.signed_in(cast.b, cast.b_admin).get("/my/deletion-requests/").text
