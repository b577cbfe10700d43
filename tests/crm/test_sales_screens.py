"""Sales screens: who sees which prospects, the day list, registering with a collision, the monthly review."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.models import Phone
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.sales import services
from crm.sales.models import Contact, DemoVehicle, History, Prospect, TestDrive, TransferRequest
from crm.sales.selectors import monthly_review, my_day
from crm.sales.services import FirstContact

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(cast):
    with schema_context(cast.a.schema_name):
        return {
            "berlin": Rooftop.objects.get(name="Alpha Berlin"),
            "hamburg": Rooftop.objects.get(name="Alpha Hamburg"),
            "anna": User.objects.get(email=cast.a_salesperson),
            "boris": User.objects.create_user("boris@alpha.test", cast.password, role="salesperson",
                                              first_name="Boris", last_name="Bauer"),
            "manager": User.objects.create_user("manager@alpha.test", cast.password, role="sales_manager"),
            "advisor": User.objects.create_user("advisor@alpha.test", cast.password, role="service_advisor"),
        }


def _prospect(team, name, *, by="anna", level="B", source="walk_in", rooftop="berlin", phones=()):
    person = person_create(by=None, fields={"family_name": name, "given_name": "Test"}, phones=list(phones))
    return services.prospect_create(person=person, by=team[by], level=level, rooftop=team[rooftop],
                                    fields={"source": source, "model_interest": "Golf"},
                                    first_contact=FirstContact("visit", "reached"))


def test_a_salesperson_sees_their_own_prospects_the_manager_all_another_tenant_nothing(cast, team):
    with schema_context(cast.a.schema_name):
        mine = _prospect(team, "Eigen")
        theirs = _prospect(team, "Fremd", by="boris")
    anna = cast.signed_in(cast.a, cast.a_salesperson)
    listing = anna.get("/crm/sales/prospects/")
    assert "Eigen" in listing.text and "Fremd" not in listing.text
    assert anna.get(f"/crm/sales/prospects/{mine.pk}/").status_code == 200
    assert anna.get(f"/crm/sales/prospects/{theirs.pk}/").status_code == 404
    assert anna.post(f"/crm/sales/prospects/{theirs.pk}/contacts/",
                     {"kind": "call", "outcome": "reached"}).status_code == 404
    assert anna.get("/crm/sales/transfers/").status_code == 403  # managers decide

    manager = cast.signed_in(cast.a, "manager@alpha.test")
    everything = manager.get("/crm/sales/prospects/")
    assert "Eigen" in everything.text and "Fremd" in everything.text
    assert manager.get(f"/crm/sales/prospects/{theirs.pk}/").status_code == 200

    assert cast.signed_in(cast.a, "advisor@alpha.test").get("/crm/sales/prospects/").status_code == 403
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert bravo.get(f"/crm/sales/prospects/{mine.pk}/").status_code == 404
    assert "Eigen" not in bravo.get("/crm/sales/prospects/").text
    assert cast.client(cast.a).get("/crm/sales/").status_code == 302  # sign in first


def test_registering_a_colleagues_customer_is_refused_with_who_holds_it_and_a_transfer_can_be_asked(cast, team):
    with schema_context(cast.a.schema_name):
        held = _prospect(team, "Gehalten", by="boris", phones=["+49307654321"])
    anna = cast.signed_in(cast.a, cast.a_salesperson)
    refused = anna.post("/crm/sales/prospects/new/", {
        "person": held.person_id, "customer": "Gehalten", "level": "A", "source": "phone", "condition": "new"})
    assert refused.status_code == 409
    assert "Boris Bauer" in refused.text and "Ask the sales manager for a transfer" in refused.text
    token = refused.context["token"]
    # Typed in as a "new" customer with the same phone and name: the same customer, the same refusal.
    typed = anna.post("/crm/sales/prospects/new/", {
        "family_name": "Gehalten", "given_name": "Test", "phone": "030 7654321", "level": "A", "source": "phone",
        "condition": "new"})
    assert typed.status_code == 409 and "Boris Bauer" in typed.text
    # No walking through ids to learn who holds whom: only with the refusal's token.
    assert anna.post(f"/crm/sales/prospects/{held.pk}/transfer/", {"reason": "Mine"}).status_code == 404
    assert anna.post(f"/crm/sales/prospects/{held.pk + 1}/transfer/",
                     {"reason": "Mine", "token": token}).status_code == 404
    empty = anna.post(f"/crm/sales/prospects/{held.pk}/transfer/", {"reason": " ", "token": token})
    asked = anna.post(f"/crm/sales/prospects/{held.pk}/transfer/", {"reason": "Customer asked for me",
                                                                    "token": token})
    assert empty.status_code == 400 and asked.status_code == 302

    manager = cast.signed_in(cast.a, "manager@alpha.test")
    assert "Customer asked for me" in manager.get("/crm/sales/transfers/").text
    with schema_context(cast.a.schema_name):
        pending = TransferRequest.objects.get(prospect=held)
    manager.post("/crm/sales/transfers/", {"request": pending.pk, "decision": "approve"})
    with schema_context(cast.a.schema_name):
        assert Prospect.objects.get(pk=held.pk).salesperson.email == cast.a_salesperson
        assert Prospect.objects.filter(person_id=held.person_id).count() == 1
    assert anna.get(f"/crm/sales/prospects/{held.pk}/").status_code == 200


def test_a_new_customer_registered_as_a_prospect_with_the_first_contact(cast, team):
    anna = cast.signed_in(cast.a, cast.a_salesperson)
    missing = anna.post("/crm/sales/prospects/new/", {"level": "A", "source": "walk_in", "condition": "new"})
    assert missing.status_code == 400 and "enter a new customer" in missing.text
    created = anna.post("/crm/sales/prospects/new/", {
        "family_name": "Neukunde", "given_name": "Nina", "phone": "030 1234567", "level": "H", "source": "walk_in",
        "condition": "new", "model_interest": "Tiguan", "contact_kind": "visit", "outcome": "test_drive",
        "rooftop": team["berlin"].pk})
    assert created.status_code == 302
    with schema_context(cast.a.schema_name):
        prospect = Prospect.objects.get(person__family_name="Neukunde")
        assert (prospect.salesperson.email, prospect.level, prospect.model_interest) == (cast.a_salesperson, "H",
                                                                                         "Tiguan")
        assert Phone.objects.get(person=prospect.person).number == "+49301234567"
        assert prospect.next_contact_on == timezone.localdate() + timedelta(days=1)
    page = anna.get(created["Location"])
    assert "Neukunde" in page.text and "Tiguan" in page.text


def test_my_day_lists_overdue_first_and_costs_the_same_queries_for_many(cast, team):
    today = timezone.localdate()
    with schema_context(cast.a.schema_name):
        soon = _prospect(team, "Bald")
        late = _prospect(team, "Spät")
        Contact.objects.filter(prospect=soon, done_at__isnull=True).update(planned_on=today, due_by=today)
        Contact.objects.filter(prospect=late, done_at__isnull=True).update(planned_on=today - timedelta(days=4),
                                                                           due_by=today - timedelta(days=2))
        day = my_day(team["anna"])
        assert [contact.prospect.person.family_name for contact in day.contacts] == ["Spät", "Bald"]
        assert day.overdue == 1
    anna = cast.signed_in(cast.a, cast.a_salesperson)
    page = anna.get("/crm/sales/")
    assert page.text.index("Spät") < page.text.index("Bald") and "overdue" in page.text
    with schema_context(cast.a.schema_name):
        for number in range(15):
            prospect = _prospect(team, f"Viele{number}")
            Contact.objects.filter(prospect=prospect, done_at__isnull=True).update(planned_on=today)
    with CaptureQueriesContext(connection) as few:
        anna.get("/crm/sales/")
    with schema_context(cast.a.schema_name):
        assert len(my_day(team["anna"]).contacts) == 17
    with CaptureQueriesContext(connection) as many:
        anna.get("/crm/sales/")
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as listing:
        anna.get("/crm/sales/prospects/")
    assert len(listing) <= len(few) + 3


def _at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def test_the_monthly_review_on_a_crafted_month(cast, team):
    """October 2026: two prospects carried over from September (one orders in October), three new
    (one orders, one is lost), one lost in September; contacts planned and done, one late."""
    september, october = date(2026, 9, 10), date(2026, 10, 5)
    with schema_context(cast.a.schema_name):
        old_a = _prospect(team, "Alt1", level="A", source="phone")
        old_b = _prospect(team, "Alt2", level="C", source="walk_in", by="boris")
        lost_sep = _prospect(team, "AltVerloren", level="B", source="phone")
        new_h = _prospect(team, "Neu1", level="H", source="web_form")
        new_b = _prospect(team, "Neu2", level="B", source="web_form", by="boris")
        new_lost = _prospect(team, "Neu3", level="C", source="event", rooftop="hamburg")
        for prospect in (old_a, old_b, lost_sep):
            Prospect.objects.filter(pk=prospect.pk).update(registered_on=september)
            History.objects.filter(prospect=prospect).update(at=_at(september))
        for prospect in (new_h, new_b, new_lost):
            Prospect.objects.filter(pk=prospect.pk).update(registered_on=october)
            History.objects.filter(prospect=prospect).update(at=_at(october))
        # Lost in September (reason: price); old_a orders in October; new_h orders; new_lost is lost.
        Prospect.objects.filter(pk=lost_sep.pk).update(level="F", lost_reason="price", closed_on=date(2026, 9, 25))
        History.objects.create(prospect=lost_sep, kind="level", from_value="B", to_value="F",
                               at=_at(date(2026, 9, 25)))
        for prospect, day in ((old_a, date(2026, 10, 20)), (new_h, date(2026, 10, 12))):
            Prospect.objects.filter(pk=prospect.pk).update(level="O", ordered_on=day)
            History.objects.create(prospect=prospect, kind="level", from_value="A", to_value="O", at=_at(day))
        Prospect.objects.filter(pk=new_lost.pk).update(level="F", lost_reason="competitor",
                                                       closed_on=date(2026, 10, 28))
        History.objects.create(prospect=new_lost, kind="level", from_value="C", to_value="F",
                               at=_at(date(2026, 10, 28)))
        # A level change after the month does not change October's table.
        History.objects.create(prospect=new_b, kind="level", from_value="B", to_value="A",
                               at=_at(date(2026, 11, 3)))
        # Anna leaves in November: her October stays hers.
        services.prospects_handover(from_user=team["anna"], to_user=team["boris"], by=team["manager"])
        # Contacts: the table's rows start again from the crafted ones.
        Contact.objects.all().delete()
        Contact.objects.bulk_create([
            Contact(prospect=old_a, planned_on=date(2026, 10, 2), due_by=date(2026, 10, 3),
                    done_at=_at(date(2026, 10, 3)), kind="call", outcome="reached", by=team["anna"]),  # on time
            Contact(prospect=old_a, planned_on=date(2026, 10, 9), due_by=date(2026, 10, 10),
                    done_at=_at(date(2026, 10, 14)), kind="call", outcome="reached", by=team["anna"]),  # late
            Contact(prospect=new_h, planned_on=date(2026, 10, 6), due_by=date(2026, 10, 7),
                    done_at=_at(date(2026, 10, 6)), kind="visit", outcome="test_drive", by=team["anna"]),
            Contact(prospect=new_b, planned_on=date(2026, 10, 30), due_by=date(2026, 11, 6)),  # planned, open (Boris)
            Contact(prospect=old_b, planned_on=date(2026, 9, 28), due_by=date(2026, 10, 5),
                    done_at=_at(date(2026, 10, 1)), kind="call", outcome="no_answer", by=team["boris"]),
        ])

        with CaptureQueriesContext(connection) as queries:
            review = monthly_review(date(2026, 10, 15))
        assert len(queries) <= 6

    levels = {row.key: (row.carried_over, row.new, row.ordered_carried, row.ordered_new, row.lost)
              for row in review.by_level}
    assert levels == {"H": (0, 0, 0, 0, 0), "A": (0, 0, 0, 0, 0), "B": (0, 1, 0, 0, 0), "C": (1, 0, 0, 0, 0),
                      "O": (1, 1, 1, 1, 0), "F": (0, 1, 0, 0, 1)}
    sources = {row.key: (row.carried_over, row.new) for row in review.by_source}
    assert sources == {"phone": (1, 0), "walk_in": (1, 0), "web_form": (0, 2), "event": (0, 1)}
    assert (review.total.carried_over, review.total.new) == (2, 3)
    assert (review.conversion_carried, review.conversion_new) == (50.0, 33.3)
    assert (review.planned, review.done, review.on_time) == (4, 4, 3)
    assert review.on_time_rate == 75.0
    assert review.lost_last_month == [("Price", 1)]
    sellers = {row.name: (row.held, row.new, row.planned, row.done, row.on_time) for row in review.sellers}
    assert sellers == {str(team["anna"]): (2, 1, 3, 3, 2), "Boris Bauer": (2, 1, 1, 1, 1)}

    with schema_context(cast.a.schema_name):
        hamburg = monthly_review(date(2026, 10, 1), rooftop_id=team["hamburg"].pk)
    assert (hamburg.total.new, hamburg.total.carried_over, hamburg.total.lost) == (1, 0, 1)

    page = cast.signed_in(cast.a, "manager@alpha.test").get("/crm/sales/review/?month=2026-10")
    assert page.status_code == 200 and "Boris Bauer" in page.text
    own = cast.signed_in(cast.a, cast.a_salesperson).get("/crm/sales/review/?month=2026-10")
    assert own.status_code == 200 and "Boris Bauer" not in own.text


def test_cadence_and_schedules_are_the_dealers_own(cast, team):
    manager = cast.signed_in(cast.a, "manager@alpha.test")
    page = manager.get("/crm/sales/settings/")
    assert page.status_code == 200
    formset = page.context["cadence"]
    data = {"cadence-TOTAL_FORMS": len(formset.forms), "cadence-INITIAL_FORMS": len(formset.forms),
            "care-TOTAL_FORMS": 0, "care-INITIAL_FORMS": 0}
    care = page.context["care"]
    data.update({"care-TOTAL_FORMS": len(care.initial_forms), "care-INITIAL_FORMS": len(care.initial_forms)})
    for index, form in enumerate(care.initial_forms):
        data.update({f"care-{index}-id": form.instance.pk, f"care-{index}-days_after": form.instance.days_after,
                     f"care-{index}-kind": form.instance.kind, f"care-{index}-is_active": "on"})
    for index, form in enumerate(formset.forms):
        bad = form.instance.level == "C"
        data.update({f"cadence-{index}-id": form.instance.pk,
                     f"cadence-{index}-min_days": 20 if bad else form.instance.min_days,
                     f"cadence-{index}-max_days": 10 if bad else form.instance.max_days})
    refused = manager.post("/crm/sales/settings/", data)
    assert refused.status_code == 400 and "cannot be overdue before it is planned" in refused.text
    for index, form in enumerate(formset.forms):
        if form.instance.level == "C":
            data.update({f"cadence-{index}-min_days": 10, f"cadence-{index}-max_days": 12})
    assert manager.post("/crm/sales/settings/", data).status_code == 302
    with schema_context(cast.a.schema_name):
        assert services.cadence_days("C") == (10, 12)
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/sales/settings/").status_code == 403

    saved = manager.post("/crm/sales/settings/schedules/", {
        "user": team["boris"].pk, "rooftop": team["hamburg"].pk, "weekdays": ["0", "2", "4"], "takes_leads": "on"})
    assert saved.status_code == 302
    with schema_context(cast.a.schema_name):
        assert team["boris"].sales_schedule.weekdays == [0, 2, 4]


def test_a_deal_through_the_screens_offer_delivery_and_nobody_elses(cast, team):
    with schema_context(cast.a.schema_name):
        prospect = _prospect(team, "Liefer")
    anna = cast.signed_in(cast.a, cast.a_salesperson)
    bad = anna.post(f"/crm/sales/prospects/{prospect.pk}/deals/", {"model": "", "condition": "new", "amount": "-1"})
    assert bad.status_code == 400 and set(bad.context["deal_form"].errors) == {"model", "amount"}
    anna.post(f"/crm/sales/prospects/{prospect.pk}/deals/", {"model": "Passat", "condition": "new",
                                                             "amount": "38500", "trade_in_amount": "6000"})
    with schema_context(cast.a.schema_name):
        deal = prospect.opportunities.get()
    lost_without_reason = anna.post(f"/crm/sales/deals/{deal.pk}/stage/", {"stage": "lost"}, follow=True)
    assert "Say why the deal was lost." in lost_without_reason.text
    anna.post(f"/crm/sales/deals/{deal.pk}/stage/", {"stage": "order", "note": "Signed today"})

    offer = anna.get(f"/crm/sales/deals/{deal.pk}/offer.pdf")
    assert offer.status_code == 200 and offer["Content-Type"] == "application/pdf"
    assert offer.content.startswith(b"%PDF")
    boris = cast.signed_in(cast.a, "boris@alpha.test")
    assert boris.get(f"/crm/sales/deals/{deal.pk}/offer.pdf").status_code == 404
    assert boris.post(f"/crm/sales/deals/{deal.pk}/delivery/", {}).status_code == 404
    assert cast.signed_in(cast.b, cast.b_admin).get(f"/crm/sales/deals/{deal.pk}/offer.pdf").status_code == 404

    wrong = anna.post(f"/crm/sales/deals/{deal.pk}/delivery/", {
        "vin": "WVW123", "make": "VW", "model": "Passat", "delivered_on": timezone.localdate().isoformat()})
    assert wrong.status_code == 400 and "17 characters" in wrong.text
    done = anna.post(f"/crm/sales/deals/{deal.pk}/delivery/", {
        "vin": "WVWZZZ3CZPE000111", "make": "VW", "model": "Passat", "year": "2026", "plate": "B-PA 1",
        "delivered_on": timezone.localdate().isoformat()}, follow=True)
    assert "Delivery recorded" in done.text and "owns the car now" in done.text
    with schema_context(cast.a.schema_name):
        prospect.refresh_from_db()
        assert prospect.closed_on == timezone.localdate()
        assert prospect.person.vehicle_links.get(kind="owner").vehicle.vin == "WVWZZZ3CZPE000111"
    day = anna.get("/crm/sales/")
    assert day.status_code == 200


def test_odd_input_gets_a_page_not_an_error(cast, team):
    manager = cast.signed_in(cast.a, "manager@alpha.test")
    for url in ("/crm/sales/review/?month=9999-12", "/crm/sales/review/?month=1-1", "/crm/sales/review/?month=x",
                "/crm/sales/test-drives/?day=0001-01-01", "/crm/sales/test-drives/?day=9999-12-31",
                "/crm/sales/prospects/?rooftop=x&salesperson=y&level=Z&page=999"):
        assert manager.get(url).status_code == 200, url
    assert manager.get("/crm/sales/reports/?end=9999-12-31").status_code in (200, 400)
    assert manager.post("/crm/sales/settings/schedules/", {"user": "abc"}).status_code == 302
    assert manager.post("/crm/sales/transfers/", {"request": "x"}).status_code == 404


def test_times_typed_on_a_dealers_host_are_in_the_dealer_groups_time_zone(cast):
    """Bravo is in Moscow: a test drive typed as 10:00 is 10:00 in Moscow (07:00 UTC)."""
    with schema_context(cast.b.schema_name):
        seller = User.objects.create_user("seller@bravo.test", cast.password, role="salesperson")
        moscow = Rooftop.objects.get()
        demo = DemoVehicle.objects.create(rooftop=moscow, model="Tiguan")
        person = person_create(by=None, fields={"family_name": "Иванов", "given_name": "Пётр"})
        prospect = services.prospect_create(person=person, by=seller, level="A", rooftop=moscow,
                                            fields={"source": "walk_in"})
    day = timezone.localdate() + timedelta(days=5)
    response = cast.signed_in(cast.b, "seller@bravo.test").post(
        f"/crm/sales/prospects/{prospect.pk}/test-drives/",
        {"demo": demo.pk, "starts_at": f"{day.isoformat()}T10:00", "minutes": "60"})
    assert response.status_code == 302
    with schema_context(cast.b.schema_name):
        drive = TestDrive.objects.get(prospect=prospect)
    utc = drive.starts_at.astimezone(UTC)
    assert (utc.hour, utc.minute) == (7, 0)


def test_every_sales_page_speaks_the_groups_language(cast):
    """Bravo works in Russian: each sales page renders in Russian for its dealer admin."""
    admin = cast.signed_in(cast.b, cast.b_admin)
    pages = {"/crm/sales/": "Мой день", "/crm/sales/prospects/": "Потенциальные клиенты",
             "/crm/sales/prospects/new/": "Новый потенциальный клиент",
             "/crm/sales/review/": "Итоги месяца по потенциальным клиентам",
             "/crm/sales/reports/": "Отчёты по продажам", "/crm/sales/reports/lost/": "Анализ потерянных сделок",
             "/crm/sales/calls/": "Списки обзвона", "/crm/sales/settings/": "Периодичность контактов по уровням",
             "/crm/sales/test-drives/": "Тест-драйвы", "/crm/sales/transfers/": "Запросы на передачу",
             "/crm/sales/handover/": "Передача потенциальных клиентов"}
    for url, words in pages.items():
        page = admin.get(url)
        assert page.status_code == 200, url
        assert words.lower() in page.text.lower(), (url, words)
