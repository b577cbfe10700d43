"""Data quality: completeness by the dealer's rules, re-verification, archiving, the manager's view."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import StaffRole, User
from crm.core.services import staff_user_create
from crm.customers import quality
from crm.customers.models import AuditEntry, Person, Phone, QualityRules, TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import person_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(cast):
    with schema_context(cast.a.schema_name):
        rules = QualityRules.current()
        rules.required_fields = ["phone", "email", "birth_date", "vehicle"]
        rules.phone_refresh_months = 12
        rules.save()
        return rules


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


def test_completeness_counts_the_dealers_required_fields_the_same_in_sql_and_on_the_page(cast, rules):
    with schema_context(cast.a.schema_name):
        half = person_create(by=None, fields={"family_name": "Halb", "birth_date": "1980-01-01"},
                             phones=["0171 1000001"])
        full = person_create(by=None, fields={"family_name": "Voll", "birth_date": "1980-01-01"},
                             phones=["0171 1000002"], emails=["voll@example.de"])
        VehicleLink.objects.create(vehicle=Vehicle.objects.create(make="VW"), person=full, kind="owner")
        scores = dict(quality.with_completeness(Person.objects.filter(pk__in=[half.pk, full.pk]), rules)
                      .values_list("family_name", "completeness"))

    page = cast.signed_in(cast.a, cast.a_salesperson).get(f"/crm/customers/{half.pk}/")

    assert scores == {"Halb": 50, "Voll": 100}
    assert page.context["quality"]["score"] == 50
    assert page.context["quality"]["missing"] == ["E-mail", "A current vehicle"]
    assert "Missing: E-mail, A current vehicle." in page.text


def test_contact_data_past_its_refresh_period_is_on_the_to_verify_list_until_confirmed(cast, rules):
    with schema_context(cast.a.schema_name):
        salesperson = User.objects.get(email=cast.a_salesperson)
        stale = person_create(by=None, fields={"family_name": "Alt", "salesperson": salesperson},
                              phones=["0171 2000001"])
        fresh = person_create(by=None, fields={"family_name": "Frisch", "salesperson": salesperson},
                              phones=["0171 2000002"])
        not_mine = person_create(by=None, fields={"family_name": "Fremd"}, phones=["0171 2000003"])
        Phone.objects.filter(person=stale).update(verified_at=_ago(days=400))
        Phone.objects.filter(person=fresh).update(verified_at=_ago(days=30))
        person_create(by=None, fields={"family_name": "Ohne", "salesperson": salesperson})  # nothing to verify
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    listed = sales.get("/crm/customers/to-verify/")
    admin_listed = cast.signed_in(cast.a, cast.a_admin).get("/crm/customers/to-verify/")
    confirmed = sales.post(f"/crm/customers/{stale.pk}/verify/", {"kind": ["phone"], "next": "to_verify"},
                           follow=True)

    assert [p.family_name for p in listed.context["page"].object_list] == ["Alt"]  # only their own
    assert listed.context["page"].object_list[0].stale_labels == ["phone"]
    assert {"Alt", "Fremd"} <= {p.family_name for p in admin_listed.context["page"].object_list}
    assert "Frisch" not in {p.family_name for p in admin_listed.context["page"].object_list}
    assert "Marked as confirmed today: phone." in confirmed.text
    assert "Alt" not in [p.family_name for p in confirmed.context["page"].object_list]
    with schema_context(cast.a.schema_name):
        assert Phone.objects.get(person=stale).verified_at > _ago(minutes=1)
        assert AuditEntry.objects.get(person=stale, action="verified").changes == {"verified": ["phone"]}
        assert TimelineEntry.objects.filter(person=stale, summary__startswith="Confirmed by the customer").exists()
        assert not_mine.pk


def test_customers_without_contact_for_years_are_archived_and_can_be_restored(cast, rules):
    with schema_context(cast.a.schema_name):
        silent = person_create(by=None, fields={"family_name": "Still"})
        visited = person_create(by=None, fields={"family_name": "Kommt"})
        new = person_create(by=None, fields={"family_name": "Neu"})
        Person.objects.filter(pk__in=[silent.pk, visited.pk]).update(created_at=_ago(days=5 * 365))
        TimelineEntry.objects.create(person=silent, kind="visit", occurred_at=_ago(days=4 * 365), summary="old")
        TimelineEntry.objects.create(person=visited, kind="visit", occurred_at=_ago(days=300), summary="recent")

        archived = quality.customers_archive_stale()
        again = quality.customers_archive_stale()

        assert (archived >= 1, again) == (True, 0)
        states = dict(Person.objects.filter(pk__in=[silent.pk, visited.pk, new.pk])
                      .values_list("family_name", "archived_at"))
        assert states["Still"] is not None and states["Kommt"] is None and states["Neu"] is None
    admin = cast.signed_in(cast.a, cast.a_admin)
    assert not admin.get("/crm/customers/?q=Still").context["page"].object_list
    assert [p.pk for p in admin.get("/crm/customers/?q=Still&archived=1").context["page"].object_list] == [silent.pk]

    restored = admin.post(f"/crm/customers/{silent.pk}/restore/", follow=True)

    assert "is back among active customers" in restored.text
    with schema_context(cast.a.schema_name):
        assert Person.objects.get(pk=silent.pk).archived_at is None
        assert AuditEntry.objects.filter(person=silent, action__in=["archived", "restored"]).count() == 2


def test_the_manager_sees_completeness_and_staleness_by_employee_and_rooftop(cast, rules):
    with schema_context(cast.a.schema_name):
        salesperson = User.objects.get(email=cast.a_salesperson)
        for n in range(3):
            person_create(by=None, fields={"family_name": f"Q{n}", "salesperson": salesperson,
                                           "birth_date": "1990-01-01"}, phones=[f"0171 300000{n}"])
        staff_user_create(email="marketing@alpha.test", password=cast.password, role=StaffRole.MARKETING)

    page = cast.signed_in(cast.a, "marketing@alpha.test").get("/crm/customers/quality/")

    row = next(r for r in page.context["report"]["salesperson"] if r["salesperson"] == salesperson.pk)
    assert (row["customers"], row["completeness"], row["stale_percent"]) == (3, 50, 100)
    assert page.context["form"] is None  # only the dealer admin edits the rules
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/customers/quality/").status_code == 403


def test_the_dealer_admin_sets_the_rules_with_clear_errors(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)

    bad = admin.post("/crm/customers/quality/", {"required_fields": ["phone"], "phone_refresh_months": 0,
                                                 "email_refresh_months": 24, "address_refresh_months": 24,
                                                 "archive_after_years": 50})
    good = admin.post("/crm/customers/quality/", {"required_fields": ["phone", "gender"], "phone_refresh_months": 6,
                                                  "email_refresh_months": 24, "address_refresh_months": 24,
                                                  "archive_after_years": 5})

    assert bad.context["form"].errors == {"phone_refresh_months": ["Choose between 1 and 120 months."],
                                          "archive_after_years": ["Choose between 1 and 20 years."]}
    assert good.status_code == 302
    with schema_context(cast.a.schema_name):
        rules = QualityRules.current()
        assert (rules.required_fields, rules.phone_refresh_months, rules.archive_after_years) == (
            ["phone", "gender"], 6, 5)


def test_nobody_outside_reaches_quality_actions(cast):
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Privat"}, phones=["0171 4000001"])
    other = cast.signed_in(cast.b, cast.b_admin)
    owner = cast.signed_in(cast.a, cast.a_owner)
    sales = cast.signed_in(cast.a, cast.a_salesperson)

    for path in ("verify", "archive", "restore"):
        assert other.post(f"/crm/customers/{person.pk}/{path}/", {"kind": ["phone"]}).status_code == 404
        assert owner.post(f"/crm/customers/{person.pk}/{path}/", {"kind": ["phone"]}).status_code == 403
    assert sales.post(f"/crm/customers/{person.pk}/archive/").status_code == 403
    assert owner.get("/crm/customers/to-verify/").status_code == 403
    with schema_context(cast.a.schema_name):
        person.refresh_from_db()
        assert person.archived_at is None
        assert not Phone.objects.filter(person=person, verified_at__isnull=False).exists()
