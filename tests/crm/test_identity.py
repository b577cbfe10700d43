"""Identity resolution: duplicates found across scripts and formats, scored with reasons."""

from datetime import date

import pytest
from django_tenants.utils import schema_context

from crm.customers.identity import duplicates_find, reason_label, review_queue_refresh
from crm.customers.models import DuplicateCandidate, Vehicle, VehicleLink
from crm.customers.services import person_create

pytestmark = pytest.mark.django_db


def make(**fields):
    phones = fields.pop("phones", [])
    emails = fields.pop("emails", [])
    return person_create(by=None, fields=fields, phones=phones, emails=emails)


@pytest.fixture
def database(cast):
    with schema_context(cast.a.schema_name):
        people = {
            "petr_ru": make(family_name="Иванов", given_name="Пётр", phones=["+7 (912) 345-67-89"]),
            "petr_lat": make(family_name="Ivanov", given_name="Petr", phones=["+79123456789"]),  # same man
            "wife": make(family_name="Иванова", given_name="Мария", phones=["+7 912 345 67 89"]),  # shared phone
            "zhang_1": make(family_name="张", given_name="伟", emails=["zhang.wei@example.cn"]),
            "zhang_2": make(family_name="Zhang", given_name="Wei", emails=["Zhang.Wei@example.cn"]),  # swapped order
            "twin_1": make(family_name="Smith", given_name="John", birth_date=date(1990, 1, 1)),
            "twin_2": make(family_name="SMITH", given_name="john", birth_date=date(1990, 1, 1)),  # no shared contact
            "namesake": make(family_name="Smith", given_name="John", birth_date=date(1971, 6, 6)),
            "typo": make(family_name="Ivanow", given_name="Petr", birth_date=date(1980, 4, 2)),
        }
        car = Vehicle.objects.create(vin="XTA210990Y2765432")
        VehicleLink.objects.create(vehicle=car, person=people["typo"], kind=VehicleLink.Kind.OWNER)
        VehicleLink.objects.create(vehicle=car, person=people["petr_lat"], kind=VehicleLink.Kind.DRIVER)
        yield people


def pair(matches, x, y):
    wanted = {x.pk, y.pk}
    return next((m for m in matches if {m.a, m.b} == wanted), None)


def test_the_same_person_written_differently_is_found_with_reasons(cast, database):
    with schema_context(cast.a.schema_name):
        matches = duplicates_find()

    petr = pair(matches, database["petr_ru"], database["petr_lat"])
    assert petr.strong and petr.confidence >= 0.95
    assert petr.reasons == ["same_phone", "same_name"]
    zhang = pair(matches, database["zhang_1"], database["zhang_2"])
    assert zhang.strong and "same_email" in zhang.reasons
    twins = pair(matches, database["twin_1"], database["twin_2"])
    assert not twins.strong and twins.confidence >= 0.6  # goes to a person, not merged by itself
    typo = pair(matches, database["typo"], database["petr_lat"])
    assert not typo.strong and 0.6 <= typo.confidence < 0.95
    assert any(reason.startswith("similar_name") for reason in typo.reasons)


def test_a_shared_household_phone_alone_is_not_the_same_person(cast, database):
    with schema_context(cast.a.schema_name):
        matches = duplicates_find()

    wife = pair(matches, database["petr_ru"], database["wife"])
    assert wife is not None and not wife.strong and wife.confidence < 0.6
    assert pair(matches, database["twin_1"], database["namesake"]) is None  # same name, different birth date


def test_the_review_queue_takes_likely_pairs_once_and_leaves_decisions_alone(cast, database):
    with schema_context(cast.a.schema_name):
        assert review_queue_refresh() == review_queue_refresh()  # idempotent
        queued = {(c.person_a_id, c.person_b_id) for c in DuplicateCandidate.objects.all()}
        assert (database["petr_ru"].pk, database["wife"].pk) not in queued
        assert (database["twin_1"].pk, database["twin_2"].pk) in queued
        DuplicateCandidate.objects.update(status=DuplicateCandidate.Status.DISMISSED)
        review_queue_refresh()
        assert not DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN).exists()


def test_reasons_read_in_the_readers_language():
    assert reason_label("similar_name:0.86") == "similar name (86%)"
    assert reason_label("same_phone") == "same phone"


def test_a_reviewer_merges_a_pair_and_can_undo_it_from_the_customer_page(cast, database):
    with schema_context(cast.a.schema_name):
        review_queue_refresh()
        candidate = DuplicateCandidate.objects.get(person_a=database["zhang_1"], person_b=database["zhang_2"])
    admin = cast.signed_in(cast.a, cast.a_admin)

    queue = admin.get("/crm/customers/duplicates/")
    assert "same e-mail" in queue.text
    merged = admin.post(f"/crm/customers/duplicates/{candidate.pk}/", {"decision": "keep_a"}, follow=True)
    assert "Merged into" in merged.text
    assert admin.get(f"/crm/customers/{database['zhang_2'].pk}/").status_code == 404

    page = admin.get(f"/crm/customers/{database['zhang_1'].pk}/")
    merge = page.context["view"].merges[0]
    undone = admin.post(f"/crm/customers/merges/{merge.pk}/undo/", follow=True)

    assert "The merge was undone" in undone.text
    assert admin.get(f"/crm/customers/{database['zhang_2'].pk}/").status_code == 200
    with schema_context(cast.a.schema_name):
        candidate.refresh_from_db()
        assert candidate.status == DuplicateCandidate.Status.OPEN  # back in the queue to decide again


def test_not_the_same_person_is_remembered(cast, database):
    with schema_context(cast.a.schema_name):
        review_queue_refresh()
        candidate = DuplicateCandidate.objects.get(person_a=database["twin_1"], person_b=database["twin_2"])
    admin = cast.signed_in(cast.a, cast.a_admin)

    admin.post(f"/crm/customers/duplicates/{candidate.pk}/", {"decision": "dismiss"})

    with schema_context(cast.a.schema_name):
        review_queue_refresh()
        candidate.refresh_from_db()
        assert candidate.status == DuplicateCandidate.Status.DISMISSED


def test_salespeople_owners_and_other_tenants_cannot_decide_duplicates(cast, database):
    with schema_context(cast.a.schema_name):
        review_queue_refresh()
        candidate = DuplicateCandidate.objects.first()

    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/customers/duplicates/").status_code == 403
    assert cast.signed_in(cast.a, cast.a_owner).get("/crm/customers/duplicates/").status_code == 403
    b = cast.signed_in(cast.b, cast.b_admin)
    assert b.post(f"/crm/customers/duplicates/{candidate.pk}/", {"decision": "keep_a"}).status_code == 404
    with schema_context(cast.a.schema_name):
        candidate.refresh_from_db()
        assert candidate.status == DuplicateCandidate.Status.OPEN


@pytest.mark.worker
def test_the_nightly_refresh_runs_in_each_tenant(cast, celery_worker, database):
    from crm.customers.tasks import duplicates_refresh

    with schema_context(cast.b.schema_name):
        result = duplicates_refresh.delay()

    assert result.get(timeout=30) == {"schema": cast.b.schema_name, "queued": 0}  # B has no customers
