"""Handing a departing employee's customers over: one step, history kept, managers only."""

import pytest
from django_tenants.utils import schema_context

from accounts.models import StaffRole, User
from crm.core.services import staff_user_create
from crm.customers.models import AuditEntry, Person, TimelineEntry
from crm.customers.services import person_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def departing(cast):
    """A salesperson of A leaving with 40 customers; a colleague to take them; a manager."""
    with schema_context(cast.a.schema_name):
        leaving = User.objects.get(email=cast.a_salesperson)
        colleague = staff_user_create(email="colleague@alpha.test", password=cast.password,
                                      role=StaffRole.SALESPERSON)
        staff_user_create(email="manager@alpha.test", password=cast.password, role=StaffRole.SALES_MANAGER)
        customers = [person_create(by=None, fields={"family_name": f"Kunde {n}", "salesperson": leaving})
                     for n in range(40)]
        other = person_create(by=None, fields={"family_name": "Not theirs"})
    return {"leaving": leaving, "colleague": colleague, "customers": customers, "other": other}


def test_a_manager_hands_every_customer_over_in_one_step_keeping_history(cast, departing):
    manager = cast.signed_in(cast.a, "manager@alpha.test")

    response = manager.post("/crm/customers/handover/", {
        "responsibility": "salesperson", "from_user": departing["leaving"].pk, "to_user": departing["colleague"].pk,
    }, follow=True)

    assert "40 customers handed over" in response.text
    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(salesperson=departing["colleague"]).count() == 40
        assert not Person.objects.filter(salesperson=departing["leaving"]).exists()
        assert Person.objects.get(pk=departing["other"].pk).salesperson is None
        moved = departing["customers"][0]
        assert TimelineEntry.objects.filter(person=moved, summary__startswith="Handed over from").count() == 1
        assert AuditEntry.objects.get(person=moved, action="handover").changes == {
            "salesperson": [departing["leaving"].pk, departing["colleague"].pk]}


def test_customers_go_only_to_someone_who_can_take_them(cast, departing):
    manager = cast.signed_in(cast.a, "manager@alpha.test")
    with schema_context(cast.a.schema_name):
        owner = User.objects.get(email=cast.a_owner)

    to_self = manager.post("/crm/customers/handover/", {
        "responsibility": "salesperson", "from_user": departing["leaving"].pk, "to_user": departing["leaving"].pk})
    to_owner = manager.post("/crm/customers/handover/", {
        "responsibility": "salesperson", "from_user": departing["leaving"].pk, "to_user": owner.pk})

    assert to_self.context["form"].errors["to_user"]
    assert to_owner.context["form"].errors["to_user"]  # not a staff member: not even offered
    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(salesperson=departing["leaving"]).count() == 40


def test_salespeople_cannot_hand_customers_over_and_b_cannot_reach_as_customers(cast, departing):
    salesperson = cast.signed_in(cast.a, cast.a_salesperson)
    b_admin = cast.signed_in(cast.b, cast.b_admin)

    assert salesperson.get("/crm/customers/handover/").status_code == 403
    refused = b_admin.post("/crm/customers/handover/", {
        "responsibility": "salesperson", "from_user": departing["leaving"].pk, "to_user": departing["colleague"].pk})
    assert refused.status_code == 200
    assert refused.context["form"].errors  # A's staff do not exist in B
    with schema_context(cast.a.schema_name):
        assert Person.objects.filter(salesperson=departing["leaving"]).count() == 40
