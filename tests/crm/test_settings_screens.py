"""The dealer group's structure: rooftops and staff, managed by dealer admins and nobody else."""

from datetime import time

import pytest
from django_tenants.utils import schema_context

from accounts.models import StaffRole, User
from crm.dealerships.models import OpeningHours, Rooftop

pytestmark = pytest.mark.django_db

SETTINGS_PAGES = ["/crm/settings/rooftops/", "/crm/settings/rooftops/new/", "/crm/settings/staff/",
                  "/crm/settings/staff/new/"]


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_only_dealer_admins_reach_the_settings(cast, path):
    assert cast.signed_in(cast.a, cast.a_admin).get(path).status_code == 200
    assert cast.signed_in(cast.a, cast.a_salesperson).get(path).status_code == 403
    assert cast.signed_in(cast.a, cast.a_owner).get(path).status_code == 403


def test_the_settings_link_shows_only_for_dealer_admins(cast):
    assert 'href="/crm/settings/rooftops/"' in cast.signed_in(cast.a, cast.a_admin).get("/crm/").text
    assert 'href="/crm/settings/rooftops/"' not in cast.signed_in(cast.a, cast.a_salesperson).get("/crm/").text


def test_a_rooftop_is_created_with_its_opening_hours(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)

    response = admin.post("/crm/settings/rooftops/new/", {
        "name": "Alpha Potsdam", "city": "Potsdam", "timezone": "Europe/Berlin", "is_active": "on",
        "opens_0": "08:00", "closes_0": "18:00", "opens_5": "09:00", "closes_5": "13:00",
    })

    assert response.status_code == 302
    with schema_context(cast.a.schema_name):
        rooftop = Rooftop.objects.get(name="Alpha Potsdam")
        assert [(h.weekday, h.opens, h.closes) for h in rooftop.opening_hours.all()] == [
            (0, time(8), time(18)), (5, time(9), time(13))]


def test_bad_opening_hours_and_time_zones_are_refused_with_reasons(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)

    response = admin.post("/crm/settings/rooftops/new/", {
        "name": "Alpha Nowhere", "timezone": "Mars/Olympus", "opens_1": "18:00", "closes_1": "08:00",
        "opens_2": "09:00",
    })

    assert response.status_code == 200
    assert response.context["form"].errors["timezone"]
    assert response.context["hours"].errors["closes_1"] == ["Closing time must be after opening time."]
    assert response.context["hours"].errors["closes_2"] == ["Give both the opening and the closing time, or neither."]
    with schema_context(cast.a.schema_name):
        assert not Rooftop.objects.filter(name="Alpha Nowhere").exists()
        assert not OpeningHours.objects.filter(rooftop__name="Alpha Nowhere").exists()


def test_a_dealer_admin_adds_a_staff_member_who_can_then_sign_in(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)

    weak = admin.post("/crm/settings/staff/new/", {"email": "advisor@alpha.test", "role": StaffRole.SERVICE_ADVISOR,
                                                   "password": "123"})
    assert weak.context["form"].errors["password"]
    taken = admin.post("/crm/settings/staff/new/", {"email": cast.a_salesperson, "role": StaffRole.SALESPERSON,
                                                    "password": "a-long-secret-42"})
    assert taken.context["form"].errors["email"]

    created = admin.post("/crm/settings/staff/new/", {
        "email": "Advisor@Alpha.test", "first_name": "Ada", "role": StaffRole.SERVICE_ADVISOR,
        "password": "a-long-secret-42",
    })
    assert created.status_code == 302
    client = cast.client(cast.a)
    assert client.post("/accounts/login/", {"login": "advisor@alpha.test", "password": "a-long-secret-42"}
                       )["Location"] == "/crm/"


def test_a_departed_staff_member_is_switched_off_not_deleted(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        sales = User.objects.get(email=cast.a_salesperson)

    admin.post(f"/crm/settings/staff/{sales.pk}/", {"role": StaffRole.SALESPERSON, "first_name": "", "last_name": ""})

    with schema_context(cast.a.schema_name):
        sales.refresh_from_db()
        assert not sales.is_active  # the unchecked box switches sign-in off; the record stays
    client = cast.client(cast.a)
    refused = client.post("/accounts/login/", {"login": cast.a_salesperson, "password": cast.password})
    assert refused["Location"] == "/accounts/inactive/"
    assert "_auth_user_id" not in client.session


def test_admins_cannot_lock_themselves_out(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        me = User.objects.get(email=cast.a_admin)

    response = admin.post(f"/crm/settings/staff/{me.pk}/", {"role": StaffRole.SALESPERSON, "is_active": "on"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    with schema_context(cast.a.schema_name):
        assert User.objects.get(pk=me.pk).role == StaffRole.DEALER_ADMIN


def test_another_tenants_admin_cannot_edit_as_staff(cast):
    with schema_context(cast.a.schema_name):
        sales = User.objects.get(email=cast.a_salesperson)
    b_admin = cast.signed_in(cast.b, cast.b_admin)

    response = b_admin.get(f"/crm/settings/staff/{sales.pk}/")

    # B's schema has its own users; whatever B finds under that number, it is never A's.
    assert sales.email not in response.text
