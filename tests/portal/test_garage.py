"""An owner's garage: a car joins it only with the code sent to the contact on file for it; an owner never
sees another owner's cars or claims; an account becomes a CRM customer only through a proven contact."""

import re
from datetime import date
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.service.models import ServiceVisit
from crm.service.services import declined_add
from portal import services
from portal.models import CustomerLink, VehicleClaim
from tests.conftest import run_as_the_worker

pytestmark = pytest.mark.django_db
VIN = "WVWZZZ1KZAW000001"


def _car(person, vin=VIN, **fields):
    car = Vehicle.objects.create(vin=vin, make="VW", model="Golf", **fields)
    VehicleLink.objects.create(vehicle=car, person=person, kind="owner")
    return car


@pytest.fixture
def carla(cast):
    """Carla's Golf is on file with her e-mail; it came to the workshop, where she declined new tyres."""
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Käufer", "given_name": "Carla"},
                               emails=["carla@example.de"])
        car = _car(person, inspection_due=date(2027, 5, 1), purchase_date=date(2024, 3, 1))
        visit = ServiceVisit.objects.create(vehicle=car, person=person, opened_on=date(2026, 10, 1), status="closed",
                                            mileage=30000, total_amount=Decimal(250))
        declined_add(visit=visit, category="tyres", description="Winter tyres", by=None,
                     follow_up_on=date(2026, 11, 1), estimate=Decimal("640"))
        return {"person": person, "car": car}


def _sent(callbacks, mailoutbox):
    """Run the e-mail tasks the request queued, as the worker would; the code in the last message."""
    run_as_the_worker(callbacks)
    return re.search(r"\b(\d{6})\b", mailoutbox[-1].body)[1]


def _claim(client, django_capture_on_commit_callbacks, mailoutbox, vin=VIN):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/my/cars/add/", {"vin": vin})
    assert response.status_code == 302, response.content
    return response["Location"], _sent(callbacks, mailoutbox)


def test_a_car_joins_the_garage_only_with_the_code_sent_to_its_contact_on_file(
        cast, carla, mailoutbox, django_capture_on_commit_callbacks):
    owner = cast.signed_in(cast.a, cast.a_owner)  # the account's own address is not Carla's
    assert "Your garage is empty" in owner.get("/my/").text
    page, code = _claim(owner, django_capture_on_commit_callbacks, mailoutbox, vin="wvw zzz1kz aw000001")
    assert mailoutbox[-1].to == ["carla@example.de"]
    assert "c•••@example.de" in owner.get(page).text
    assert "Golf" not in owner.get("/my/").text  # typed the VIN: not enough

    wrong = owner.post(page, {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400 and "Attempts left: 4." in wrong.text
    assert owner.post(page, {"code": code}).status_code == 302
    garage = owner.get("/my/")
    assert "VW Golf" in garage.text and "Winter tyres" in garage.text
    assert [car.maintenance_due for car in garage.context["cars"]] == [date(2027, 10, 1)]  # 12 months after
    with schema_context(cast.a.schema_name):
        link = CustomerLink.objects.get(user__email=cast.a_owner)
        assert (link.person, link.proof) == (carla["person"], "vehicle_code")


def test_wrong_codes_run_out_and_codes_expire(cast, carla, mailoutbox, django_capture_on_commit_callbacks):
    owner = cast.signed_in(cast.a, cast.a_owner)
    page, code = _claim(owner, django_capture_on_commit_callbacks, mailoutbox)
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(5):
        owner.post(page, {"code": wrong})
    assert "Too many wrong codes. Ask for a new one." in owner.post(page, {"code": code}).text
    page, code = _claim(owner, django_capture_on_commit_callbacks, mailoutbox)
    with schema_context(cast.a.schema_name):
        VehicleClaim.objects.filter(confirmed_at__isnull=True).update(expires_at=timezone.now())
    assert "This code has expired." in owner.post(page, {"code": code}).text
    with schema_context(cast.a.schema_name):
        assert not VehicleClaim.objects.filter(confirmed_at__isnull=False).exists()


def test_bad_vins_and_too_many_claims_are_refused_in_words(cast, carla, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    owner = cast.signed_in(cast.a, cast.a_owner)
    assert "A VIN has 17 characters" in owner.post("/my/cars/add/", {"vin": "WVW123"}).text
    unknown = owner.post("/my/cars/add/", {"vin": "WVWZZZ1KZAW999999"})
    assert unknown.status_code == 400 and "We have no car with this VIN on file" in unknown.text
    with schema_context(cast.a.schema_name):
        for n in range(10, 15):
            _car(carla["person"], vin=f"WVWZZZ1KZAW0000{n}")
    for n in range(10, 15):
        _claim(owner, django_capture_on_commit_callbacks, mailoutbox, vin=f"WVWZZZ1KZAW0000{n}")
    assert "Too many cars claimed in the last hour" in owner.post("/my/cars/add/", {"vin": VIN}).text


def test_an_owner_never_sees_another_owners_cars_or_claims(cast, carla, mailoutbox,
                                                          django_capture_on_commit_callbacks):
    owner = cast.signed_in(cast.a, cast.a_owner)
    page, code = _claim(owner, django_capture_on_commit_callbacks, mailoutbox)
    with schema_context(cast.a.schema_name):
        User.objects.create_user("neighbour@alpha.test", cast.password)
        claim = VehicleClaim.objects.get()
    neighbour = cast.signed_in(cast.a, "neighbour@alpha.test")
    assert neighbour.get(page).status_code == 404
    assert neighbour.post(page, {"code": code}).status_code == 404  # guessing the claim's id gets nothing
    assert neighbour.post(f"/my/cars/add/{claim.pk}/again/").status_code == 404
    owner.post(page, {"code": code})
    assert "Golf" in owner.get("/my/").text and "Golf" not in neighbour.get("/my/").text
    assert neighbour.get("/my/").context["cars"] == []
    other_group = cast.client(cast.b)  # the owner's session is for Alpha's host only
    other_group.cookies = owner.cookies
    assert other_group.get("/my/").status_code == 302


def test_an_account_becomes_a_customer_only_through_a_verified_address_on_file_for_one_customer(cast, carla):
    with schema_context(cast.a.schema_name):
        user = User.objects.create_user("carla@example.de", cast.password)
        address = EmailAddress.objects.create(user=user, email="carla@example.de", verified=False, primary=True)
        assert services.link_by_verified_email(user) is None  # not verified yet
        address.verified = True
        address.save()
        assert services.link_by_verified_email(user).person == carla["person"]
        twin = User.objects.create_user("shared@example.de", cast.password)
        EmailAddress.objects.create(user=twin, email="shared@example.de", verified=True, primary=True)
        for name in ("One", "Two"):  # a family address on two customers: whose would it be?
            person_create(by=None, fields={"family_name": name}, emails=["shared@example.de"])
        assert services.link_by_verified_email(twin) is None


def test_the_garage_takes_the_same_queries_for_one_car_or_three(cast, carla, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    owner = cast.signed_in(cast.a, cast.a_owner)
    with schema_context(cast.a.schema_name):
        user = User.objects.get(email=cast.a_owner)
        VehicleClaim.objects.create(user=user, vehicle=carla["car"], channel="email", sent_to="x", code_hash="x",
                                    holder=carla["person"],
                                    expires_at=timezone.now(), confirmed_at=timezone.now())
    with CaptureQueriesContext(connection) as one:
        owner.get("/my/")
    with schema_context(cast.a.schema_name):
        for n in (2, 3):
            car = _car(carla["person"], vin=f"WVWZZZ1KZAW00000{n}", purchase_date=date(2025, 1, n))
            VehicleClaim.objects.create(user=user, vehicle=car, channel="email", sent_to="x", code_hash="x",
                                        holder=carla["person"],
                                        expires_at=timezone.now(), confirmed_at=timezone.now())
    with CaptureQueriesContext(connection) as three:
        response = owner.get("/my/")
    assert len(response.context["cars"]) == 3
    assert len(three) == len(one)
    assert len(one) <= 15  # session, user, site, branding and a handful for the garage: not one per car


def test_history_shows_the_owners_own_visits_with_their_work_and_not_an_earlier_owners(cast, carla):
    from crm.service.models import JobLine

    with schema_context(cast.a.schema_name):
        seller = person_create(by=None, fields={"family_name": "Vorbesitzer"})
        earlier = ServiceVisit.objects.create(vehicle=carla["car"], person=seller, opened_on=date(2023, 5, 2),
                                              status="closed", total_amount=Decimal(999))
        visit = ServiceVisit.objects.filter(person=carla["person"]).get()
        JobLine.objects.create(visit=visit, kind="labour", category="maintenance", description="Oil service",
                               unit_price=Decimal(180), amount=Decimal(180))
        user = User.objects.get(email=cast.a_owner)
        CustomerLink.objects.create(user=user, person=carla["person"], proof="email")
        VehicleClaim.objects.create(user=user, vehicle=carla["car"], channel="email", sent_to="x", code_hash="x",
                                    holder=carla["person"],
                                    expires_at=timezone.now(), confirmed_at=timezone.now())
        User.objects.create_user("neighbour@alpha.test", cast.password)
    page = cast.signed_in(cast.a, cast.a_owner).get("/my/history/")
    assert [v.pk for v in page.context["visits"]] == [visit.pk]  # not the earlier owner's (and their 999)
    assert "Oil service" in page.text and "30000 km" in page.text and "Winter tyres" in page.text
    assert "Book this" in page.text
    assert earlier.pk and "999" not in page.text
    other = cast.signed_in(cast.a, "neighbour@alpha.test").get("/my/history/")
    assert other.context["visits"] == [] and "No workshop visits yet" in other.text


def test_a_sold_car_leaves_the_sellers_garage_with_the_new_owners_business(cast, carla, mailoutbox,
                                                                         django_capture_on_commit_callbacks):
    owner = cast.signed_in(cast.a, cast.a_owner)
    page, code = _claim(owner, django_capture_on_commit_callbacks, mailoutbox)
    owner.post(page, {"code": code})
    assert "VW Golf" in owner.get("/my/").text
    with schema_context(cast.a.schema_name):
        VehicleLink.objects.filter(vehicle=carla["car"]).update(ended_on=timezone.localdate())
        ben = person_create(by=None, fields={"family_name": "Neukäufer"})
        VehicleLink.objects.create(vehicle=carla["car"], person=ben, kind="owner")
    assert owner.get("/my/").context["cars"] == []  # nothing of Ben's car, visits or recommendations


def test_one_car_gets_a_few_codes_an_hour_whoever_asks(cast, carla, mailoutbox, django_capture_on_commit_callbacks):
    with schema_context(cast.a.schema_name):
        for n in range(3):
            User.objects.create_user(f"guesser{n}@alpha.test", cast.password)
    for n in range(3):
        _claim(cast.signed_in(cast.a, f"guesser{n}@alpha.test"), django_capture_on_commit_callbacks, mailoutbox)
    refused = cast.signed_in(cast.a, cast.a_owner).post("/my/cars/add/", {"vin": VIN})
    assert refused.status_code == 400 and "We have sent enough codes for this car for now" in refused.text
    assert len(mailoutbox) == 3


def test_a_second_code_for_a_car_already_added_is_refused_in_words(cast, carla, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    owner = cast.signed_in(cast.a, cast.a_owner)
    first, first_code = _claim(owner, django_capture_on_commit_callbacks, mailoutbox)
    second, second_code = _claim(owner, django_capture_on_commit_callbacks, mailoutbox)
    owner.post(first, {"code": first_code})
    again = owner.post(second, {"code": second_code})
    assert again.status_code in (302, 400)  # never a server error
    assert len(owner.get("/my/").context["cars"]) == 1


def test_an_account_opened_in_someone_elses_name_loses_its_password_when_they_prove_the_address(cast, carla):
    """Someone signs up with Carla's address and a password of theirs; Carla later signs in with a code sent to
    her mailbox, which proves the address: the squatter's password and session stop working."""
    squatter = cast.client(cast.a)
    squatter.post("/accounts/signup/", {"email": "carla@example.de", "password1": "squatters-secret-42",
                                        "password2": "squatters-secret-42"})
    assert squatter.get("/my/").status_code == 200
    from allauth.account.signals import email_confirmed

    with schema_context(cast.a.schema_name):
        address = EmailAddress.objects.get(email="carla@example.de")
        address.verified = True
        address.save()
        email_confirmed.send(sender=EmailAddress, request=None, email_address=address)
        user = User.objects.get(email="carla@example.de")
        assert not user.has_usable_password()
        assert CustomerLink.objects.get(user=user).person == carla["person"]
    assert squatter.get("/my/").status_code == 302  # signed out
    assert squatter.post("/accounts/login/", {"login": "carla@example.de",
                                              "password": "squatters-secret-42"}).status_code == 200  # refused
