"""Identity resolution: one person's records found across scripts, spellings and typos, and merged
only beyond doubt; households, pool cars and namesakes kept apart."""

from datetime import date

import pytest
from django.utils import translation
from django_tenants.utils import schema_context

from crm.customers import identity
from crm.customers.identity import duplicates_find, reason_label, resolve, review_queue_refresh
from crm.customers.models import DuplicateCandidate, MergeRecord, Person, Vehicle, VehicleLink
from crm.customers.services import person_create

pytestmark = pytest.mark.django_db


def make(**fields):
    phones = fields.pop("phones", [])
    emails = fields.pop("emails", [])
    vins = fields.pop("vins", [])
    person = person_create(by=None, fields=fields, phones=phones, emails=emails)
    for vin in vins:
        car, _created = Vehicle.objects.get_or_create(vin=vin)
        VehicleLink.objects.create(vehicle=car, person=person, kind=VehicleLink.Kind.DRIVER)
    return person


def survivor(person):
    person.refresh_from_db()
    return person.merged_into_id or person.pk


def pair(matches, x, y):
    wanted = {x.pk, y.pk}
    return next((m for m in matches if {m.a, m.b} == wanted), None)


@pytest.fixture
def database(cast):
    with schema_context(cast.a.schema_name):
        people = {
            # One person each, written by two desks.
            "zinoviy": make(family_name="Петров", given_name="Зиновий", phones=["+7 912 000-00-01"]),
            "zinovij": make(family_name="Petrov", given_name="Zinovij", phones=["+7 (912) 000 00 01"]),  # GOST 7.79
            "natalya": make(family_name="Смирнова", given_name="Наталья", birth_date=date(1985, 3, 4)),
            "natalia": make(family_name="Smirnova", given_name="Natalia", birth_date=date(1985, 3, 4)),  # ICAO
            "maiya": make(family_name="Кузнецова", given_name="Майя", emails=["maya@example.ru"]),
            "majja": make(family_name="Kuznecova", given_name="Majja", emails=["Maya@example.ru"]),  # informal
            "xiaoming": make(family_name="张", given_name="小明", phones=["+86 139 0000 0002"]),
            "xiao_ming": make(family_name="Zhang", given_name="Xiao Ming", phones=["+8613900000002"]),
            "ming_swapped": make(family_name="Xiaoming", given_name="Zhang", phones=["+8613900000002"]),
            "smirnov": make(family_name="Smirnov", given_name="Oleg", phones=["+7 912 000-00-03"]),
            "smrinov": make(family_name="Smrinov", given_name="Oleg", phones=["+7 912 000-00-03"]),  # a typo
            "ivanova": make(family_name="Иванова", given_name="Мария", birth_date=date(1990, 7, 8),
                            phones=["+7 912 000-00-04"]),
            "married": make(family_name="Петрова", given_name="Мария", birth_date=date(1990, 7, 8),
                            phones=["+7 912 000-00-04"]),  # the same woman after her wedding
            # Different people who share something.
            "husband": make(family_name="Сидоров", given_name="Иван", phones=["+7 912 000-00-05"]),
            "wife": make(family_name="Сидорова", given_name="Анна", phones=["+7 912 000-00-05"]),
            "zhang_wei": make(family_name="张", given_name="伟", phones=["+86 139 0000 0006"]),
            "zhang_gang": make(family_name="张", given_name="刚", phones=["+86 139 0000 0006"]),
            "wang_gang": make(family_name="Wang", given_name="Gang", phones=["+86 139 0000 0006"]),
            "driver_1": make(family_name="Orlov", given_name="Pavel", vins=["XTA210990Y2765432"],
                             phones=["+7 912 000-00-07"]),
            "driver_1_again": make(family_name="Орлов", given_name="Павел", vins=["XTA210990Y2765432"],
                                   phones=["+7 912 000-00-07"]),
            "driver_2": make(family_name="Belov", given_name="Denis", vins=["XTA210990Y2765432"]),
            "driver_3": make(family_name="Gromov", given_name="Ilya", vins=["XTA210990Y2765432"]),
            "namesake_1": make(family_name="Smith", given_name="John", birth_date=date(1971, 6, 6)),
            "namesake_2": make(family_name="Smith", given_name="John", birth_date=date(1990, 1, 1)),
        }
        yield people


def test_the_same_person_written_in_other_scripts_and_spellings_becomes_one_record(cast, database):
    with schema_context(cast.a.schema_name):
        merged, _queued = resolve()

        for first, second in (("zinoviy", "zinovij"), ("natalya", "natalia"), ("maiya", "majja"),
                              ("xiaoming", "xiao_ming"), ("xiaoming", "ming_swapped"), ("smirnov", "smrinov"),
                              ("ivanova", "married")):
            assert survivor(database[first]) == survivor(database[second]), (first, second)
        assert merged == 8
        # Each merge is an ordinary, undoable merge with its evidence in words.
        record = MergeRecord.objects.get(survivor=database["zinoviy"])
        assert "given name: the same" in record.reason


def test_households_pool_cars_and_namesakes_stay_apart_and_are_not_even_likely(cast, database):
    with schema_context(cast.a.schema_name):
        matches = duplicates_find()
        resolve()

        apart = [("husband", "wife"), ("zhang_wei", "zhang_gang"), ("zhang_gang", "wang_gang"),
                 ("zhang_wei", "wang_gang"), ("driver_1", "driver_2"), ("driver_2", "driver_3"),
                 ("driver_1_again", "driver_3"), ("namesake_1", "namesake_2")]
        for first, second in apart:
            assert survivor(database[first]) != survivor(database[second]), (first, second)
            match = pair(matches, database[first], database[second])
            assert match is None or match.confidence < identity.REVIEW, (first, second, match)
        queued = {frozenset((a, b)) for a, b in DuplicateCandidate.objects.values_list("person_a", "person_b")}
        for first, second in apart:
            assert frozenset((database[first].pk, database[second].pk)) not in queued
        # The pool car's regular driver, written twice, is still found.
        assert survivor(database["driver_1"]) == survivor(database["driver_1_again"])


def test_short_pinyin_syllables_are_never_similar():
    zhang = identity.record_make(1, "Zhang", "Wei", None, "", [], [], [])
    gang = identity.record_make(2, "Gang", "Wei", None, "", [], [], [])
    levels, _crossed = identity.levels_of(zhang, gang)
    assert levels["family_name"] == identity.NAME_LEVELS.index("different")
    assert levels["given_name"] == identity.NAME_LEVELS.index("exact")


def test_one_shared_phone_cannot_chain_a_father_and_his_son_into_one_record(cast):
    with schema_context(cast.a.schema_name):
        father = make(family_name="王", given_name="伟", birth_date=date(1960, 1, 1), phones=["+86 139 0000 0009"])
        unknown = make(family_name="Wang", given_name="Wei", phones=["+8613900000009"])  # no birth date: either
        son = make(family_name="王", given_name="伟", birth_date=date(1990, 5, 5), phones=["+86 139 0000 0009"])

        matches = duplicates_find()
        assert pair(matches, father, unknown).strong and pair(matches, unknown, son).strong
        resolve()

        assert survivor(father) != survivor(son)
        # Either of them for sure is neither for sure: no merge, both pairs asked of a person.
        assert survivor(unknown) == unknown.pk not in (survivor(father), survivor(son))
        queued = {frozenset(pair) for pair in DuplicateCandidate.objects.values_list("person_a", "person_b")}
        assert {frozenset((unknown.pk, father.pk)), frozenset((unknown.pk, son.pk))} <= queued


def test_a_pair_marked_not_the_same_is_never_merged_automatically(cast):
    with schema_context(cast.a.schema_name):
        first = make(family_name="Орлова", given_name="Вера", phones=["+7 912 000-00-10"])
        second = make(family_name="Orlova", given_name="Vera", phones=["+79120000010"])
        DuplicateCandidate.objects.create(person_a=first, person_b=second, confidence=1.0,
                                          status=DuplicateCandidate.Status.DISMISSED)

        assert resolve() == (0, 0)
        assert survivor(second) == second.pk


def test_a_typo_in_a_vin_and_a_birth_date_still_meets(cast):
    with schema_context(cast.a.schema_name):
        first = make(family_name="Volkov", given_name="Artem", birth_date=date(1980, 12, 3), vins=["XTA210990Y2765432"])
        second = make(family_name="Волков", given_name="Артём", birth_date=date(1980, 3, 12),
                      vins=["XTA210990Y2766432"])  # one character, day and month swapped

        match = pair(duplicates_find(), first, second)

    assert match.levels["vin"] == "typo" and match.levels["birth_date"] == "near"
    assert match.levels["given_name"] == match.levels["family_name"] == "exact"


def test_weights_are_estimated_from_each_groups_own_customers(cast):
    """Two groups with different customers get different u-probabilities; a small one keeps the priors."""
    def populate(count, born):
        people = []
        for i in range(count):
            person = Person(family_name=f"Family{i % 97}x", given_name=["Ivan", "Oleg", "Pavel"][i % 3],
                            birth_date=born(i))
            person.derive()
            people.append(person)
        Person.objects.bulk_create(people)

    with schema_context(cast.a.schema_name):
        assert not identity.model_fit().estimated  # a handful of customers: the priors
        populate(identity.MIN_ESTIMATE + 20, lambda i: date(1980, 1, 1 + i % 3))  # three birthdays
        crowded = identity.model_fit()
    with schema_context(cast.b.schema_name):
        populate(identity.MIN_ESTIMATE + 20, lambda i: date(1950, 1, 1).replace(year=1950 + i % 50,
                                                                               day=1 + i % 28))
        spread = identity.model_fit()

    assert crowded.estimated and spread.estimated
    same_day = identity.COMPARISONS["birth_date"].index("same") - 1
    assert crowded.u["birth_date"][same_day] > 10 * spread.u["birth_date"][same_day]
    # Three given names among everyone: agreeing on one says little (term frequency).
    ivan = identity.record_make(1, "Family1x", "Ivan", None, "", [], [], [])
    assert crowded.bits("given_name", 1, ivan) < identity.Model(
        m=identity.PRIOR_M, u=identity.PRIOR_U, prior=1e-4).bits("given_name", 1, ivan)


def test_the_review_queue_takes_likely_pairs_once_and_leaves_decisions_alone(cast):
    with schema_context(cast.a.schema_name):
        # The same given name on one phone under another family name: married, or a relative? A person decides.
        first = make(family_name="Kuznetsova", given_name="Olga", phones=["+7 912 000-00-11"])
        second = make(family_name="Orlova", given_name="Olga", phones=["+79120000011"])
        assert review_queue_refresh() == review_queue_refresh() == 1  # idempotent
        candidate = DuplicateCandidate.objects.get()
        assert identity.REVIEW <= candidate.confidence < identity.AUTO_MERGE
        assert (candidate.person_a_id, candidate.person_b_id) == (first.pk, second.pk)
        assert resolve() == (0, 1)  # not merged by itself
        DuplicateCandidate.objects.update(status=DuplicateCandidate.Status.DISMISSED)
        review_queue_refresh()
        assert not DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN).exists()


def test_reasons_read_in_the_readers_language():
    assert reason_label("similar_name:0.86") == "similar name (86%)"
    assert reason_label("given_name:close:4.7") == "given name: one letter apart (+4.7)"
    with translation.override("ru"):
        assert reason_label("phone:same:16.2") == "телефон: совпадает (+16.2)"
    with translation.override("zh-hans"):
        assert reason_label("vin:typo:3.0") == "车辆（VIN）：相差一个字符（可能是笔误？） (+3.0)"


def test_the_queue_shows_probability_and_evidence_per_field_and_a_reviewer_merges_and_undoes(cast):
    with schema_context(cast.a.schema_name):
        first = make(family_name="Kuznetsova", given_name="Olga", phones=["+7 912 000-00-12"],
                     vins=["XTA210990Y2700002"])
        second = make(family_name="Orlova", given_name="Olga", vins=["XTA210990Y2700002"])
        review_queue_refresh()
        candidate = DuplicateCandidate.objects.get()
    admin = cast.signed_in(cast.a, cast.a_admin)

    queue = admin.get("/crm/customers/duplicates/")
    assert "Match probability" in queue.text
    assert "car (VIN)" in queue.text and "the same car" in queue.text
    assert "family name" in queue.text and "different" in queue.text
    with translation.override("ru"):
        russian = admin.get("/crm/customers/duplicates/", HTTP_ACCEPT_LANGUAGE="ru")
    merged = admin.post(f"/crm/customers/duplicates/{candidate.pk}/", {"decision": "keep_a"}, follow=True)
    assert "Merged into" in merged.text
    assert admin.get(f"/crm/customers/{second.pk}/").status_code == 404

    page = admin.get(f"/crm/customers/{first.pk}/")
    merge = page.context["view"].merges[0]
    undone = admin.post(f"/crm/customers/merges/{merge.pk}/undo/", follow=True)

    assert "The merge was undone" in undone.text
    with schema_context(cast.a.schema_name):
        candidate.refresh_from_db()
        assert candidate.status == DuplicateCandidate.Status.OPEN  # back in the queue to decide again
    assert russian.status_code == 200


def test_salespeople_owners_and_other_tenants_get_nothing_from_the_queue(cast):
    with schema_context(cast.a.schema_name):
        make(family_name="Kuznetsova", given_name="Olga", phones=["+7 912 000-00-13"])
        make(family_name="Orlova", given_name="Olga", phones=["+7 912 000-00-13"])
        review_queue_refresh()
        candidate = DuplicateCandidate.objects.get()

    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/customers/duplicates/").status_code == 403
    assert cast.signed_in(cast.a, cast.a_owner).get("/crm/customers/duplicates/").status_code == 403
    b = cast.signed_in(cast.b, cast.b_admin)
    queue = b.get("/crm/customers/duplicates/")
    assert queue.status_code == 200 and "Orlova" not in queue.text and "Match probability" not in queue.text
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


def test_an_import_resolved_in_batches_finds_what_it_finds_at_once(cast, database, monkeypatch):
    """Customers are blocked and scored a batch at a time (memory flat however big the import): a pair whose
    records fall in two batches is still scored, once."""
    with schema_context(cast.a.schema_name):
        ids = [person.pk for person in database.values()]
        at_once = {(m.a, m.b): m.confidence for m in duplicates_find(ids)}
        monkeypatch.setattr(identity, "RESOLVE_BATCH", 3)
        in_batches = duplicates_find(ids)

        assert len(in_batches) == len({(m.a, m.b) for m in in_batches})
        assert {(m.a, m.b): m.confidence for m in in_batches} == at_once
        merged, _queued = resolve(ids)
        assert merged == 8
        assert survivor(database["zinoviy"]) == survivor(database["zinovij"])
        assert survivor(database["husband"]) != survivor(database["wife"])


def test_em_learns_from_a_sample_of_a_large_group_as_from_all_of_it(cast, monkeypatch):
    with schema_context(cast.a.schema_name):
        people = []
        for i in range(identity.MIN_ESTIMATE + 100):
            person = Person(family_name=f"Family{i % 61}x", given_name=["Ivan", "Oleg", "Pavel", "Anna"][i % 4],
                            birth_date=date(1980, 1 + i % 12, 1 + i % 5))
            person.derive()
            people.append(person)
        Person.objects.bulk_create(people)
        everyone = identity.model_fit()
        monkeypatch.setattr(identity, "EM_SAMPLE_PEOPLE", 200)
        sampled = identity.model_fit()

    assert everyone.estimated and sampled.estimated
    assert sampled.prior == pytest.approx(everyone.prior, rel=0.1)  # scaled to the pairs the sample sees
    for comparison in ("given_name", "family_name", "birth_date"):
        assert sampled.m[comparison] == pytest.approx(everyone.m[comparison], abs=0.02), comparison
