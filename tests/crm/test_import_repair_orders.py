"""DMS service files with job lines: a row per line grouped by order, or an order's lines in one cell; re-imports
update and never duplicate; declined work is followed up; advisors are found among the group's own staff."""

from datetime import date
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from accounts.models import StaffRole, User
from crm.core.services import staff_user_create
from crm.customers.importing import pipeline
from crm.customers.importing.jobs import job_create
from crm.customers.models import ImportJob, Person, TimelineEntry
from crm.service.dms import advisors_match
from crm.service.models import DeclinedRecommendation, JobLine, ServiceVisit
from crm.service.services import declined_update

pytestmark = pytest.mark.django_db

HEADER = ("RO;Date;Customer;Phone;VIN;Make;Model;Mileage;Advisor;Line type;Description;Category;Qty;Unit price;"
          "Line amount;Declined\n")
CUSTOMER = "Anna Schmidt;0171 2345678;WVWZZZ1KZAW000001;Volkswagen;Golf"
LINES = HEADER + (
    f"R-1;2024-03-01;{CUSTOMER};15200;Petrov Ivan;Labour;Oil change;Maintenance;1;2500;;\n"
    f"R-1;2024-03-01;{CUSTOMER};15200;Petrov Ivan;Part;Oil filter;Maintenance;1;800;;\n"
    f"R-1;2024-03-01;{CUSTOMER};15200;Petrov Ivan;Запчасть;Bolt;;2;50;;\n"
    # the next rows come in the next chunk of three
    f"R-1;2024-03-01;{CUSTOMER};15200;Petrov Ivan;配件;Bolt;;4;50;;\n"  # a second "Bolt": a line of its own
    f"R-1;2024-03-01;{CUSTOMER};15200;Petrov Ivan;работа;Brake pads replacement;Repair;1;;6000;да\n"
    f"R-2;2024-03-20;{CUSTOMER};16100;Sidorova A.;工时;Oil top-up;Maintenance;1;300;;\n"
)


def _run(tenant, name, text, *, kind="service"):
    with schema_context(tenant.schema_name):
        admin = User.objects.filter(role="dealer_admin").first()
        job = job_create(by=admin, name=name, data=text.encode(), kind=kind)
        pipeline.job_run(job)
        job.refresh_from_db()
        job.problem_list = list(job.problems.values_list("line", "reason"))
        job.warning_list = list(job.problems.filter(severity="warning").values_list("line", "column", "reason"))
        return job


def _lines(order):
    return [(line.kind, line.category, line.description, line.quantity, line.unit_price, line.amount)
            for line in JobLine.objects.filter(visit__order_number=order).order_by("pk")]


@pytest.fixture
def staff(cast):
    with schema_context(cast.a.schema_name):
        petrov = staff_user_create(email="petrov@alpha.test", password=None, role=StaffRole.SERVICE_ADVISOR,
                                   first_name="Иван", last_name="Петров")
    with schema_context(cast.b.schema_name):  # another group's advisor: never anyone's in Alpha
        staff_user_create(email="sidorova@bravo.test", password=None, role=StaffRole.SERVICE_ADVISOR,
                          first_name="Анна", last_name="Сидорова")
    return {"petrov": petrov}


def test_a_row_per_job_line_becomes_one_repair_order_per_number_across_chunks(cast, staff, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK", 3)

    job = _run(cast.a, "service lines.csv", LINES)

    assert job.status == ImportJob.Status.DONE and job.problem_list == []
    assert {name: job.mapping.get(name) for name in ("work", "line_type", "line_category", "quantity", "unit_price",
                                                      "line_amount", "advisor", "declined")} == {
        "work": "Description", "line_type": "Line type", "line_category": "Category", "quantity": "Qty",
        "unit_price": "Unit price", "line_amount": "Line amount", "advisor": "Advisor", "declined": "Declined"}
    with schema_context(cast.a.schema_name):
        anna = Person.objects.get(family_name="Schmidt")
        first, second = ServiceVisit.objects.filter(person=anna).order_by("opened_on")
        assert ServiceVisit.objects.filter(vehicle__vin="WVWZZZ1KZAW000001").count() == 2
        assert (first.order_number, first.status, first.opened_on, first.mileage) == (
            "R-1", "closed", date(2024, 3, 1), 15200)
        assert _lines("R-1") == [
            ("labour", "maintenance", "Oil change", Decimal("1.00"), Decimal("2500.00"), Decimal("2500.00")),
            ("part", "maintenance", "Oil filter", Decimal("1.00"), Decimal("800.00"), Decimal("800.00")),
            ("part", "repair", "Bolt", Decimal("2.00"), Decimal("50.00"), Decimal("100.00")),
            ("part", "repair", "Bolt", Decimal("4.00"), Decimal("50.00"), Decimal("200.00")),
        ]
        assert (first.labour_amount, first.parts_amount, first.total_amount) == (
            Decimal("2500.00"), Decimal("1100.00"), Decimal("3600.00"))
        brakes = DeclinedRecommendation.objects.get(visit=first)
        assert (brakes.description, brakes.category, brakes.estimate, brakes.status, brakes.person) == (
            "Brake pads replacement", "repair", Decimal("6000.00"), "open", anna)
        assert brakes.follow_up_on == date(2024, 3, 31)  # a month after the order, as for typed declined work
        assert (first.advisor, first.advisor_name) == (staff["petrov"], "")  # "Petrov Ivan" is Иван Петров
        assert (second.advisor, second.advisor_name) == (None, "Sidorova A.")  # Bravo's Сидорова is not Alpha's
        assert second.repeat_of == first  # maintenance again 19 days later
        assert _lines("R-2") == [("labour", "maintenance", "Oil top-up", Decimal("1.00"), Decimal("300.00"),
                                  Decimal("300.00"))]
        entry = TimelineEntry.objects.get(person=anna, source_ref="dms:order:R-1")
        assert entry.summary == "Service visit, order R-1: Oil change, Oil filter, Bolt"
        assert entry.body.startswith("Total: 3,600.00\xa0EUR\nMileage: 15,200 km")  # read in the reader's locale


def test_importing_the_lines_again_updates_them_and_never_duplicates(cast, staff, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK", 3)
    _run(cast.a, "service lines.csv", LINES)
    with schema_context(cast.a.schema_name):
        filter_line = JobLine.objects.get(visit__order_number="R-1", description="Oil filter")
        brakes = DeclinedRecommendation.objects.get(visit__order_number="R-1")
        declined_update(item=brakes, status="contacted", by=None, note="Calls back in April")
        before = (JobLine.objects.count(), DeclinedRecommendation.objects.count(), ServiceVisit.objects.count())

    again = _run(cast.a, "service lines again.csv", LINES)
    changed = _run(cast.a, "service lines corrected.csv", LINES.replace(
        "Part;Oil filter;Maintenance;1;800;;", "Part;Oil filter;Maintenance;1;850;;").replace(
        "Repair;1;;6000;да", "Repair;1;;6500;да"))

    assert again.counts["unchanged"] == 6 and again.problem_list == []
    assert changed.counts["unchanged"] == 4 and changed.problem_list == []
    with schema_context(cast.a.schema_name):
        assert (JobLine.objects.count(), DeclinedRecommendation.objects.count(),
                ServiceVisit.objects.count()) == before
        filter_line.refresh_from_db()
        assert (filter_line.unit_price, filter_line.amount) == (Decimal("850.00"), Decimal("850.00"))
        order = ServiceVisit.objects.get(order_number="R-1")
        assert (order.parts_amount, order.total_amount) == (Decimal("1150.00"), Decimal("3650.00"))
        brakes.refresh_from_db()
        assert (brakes.estimate, brakes.status, brakes.note) == (Decimal("6500.00"), "contacted", "Calls back in April")


CELLS = (
    "RO;Date;Customer;Phone;VIN;Make;Model;Job lines;Parts used;Recommendations;Amount\n"
    f'R-10;2024-05-02;{CUSTOMER};"Inspection = 4500; Suspension check x1 @ 1200";"Oil filter x 2 pcs @ 400 = 800\n'
    'Engine oil 5W-30 x 4,5 l = 4 050,00 €";"Brake pads = 6000\nWiper blades";99999\n'
    "R-11;2024-05-03;Jonas Weber;0172 3456789;WVWZZZ1KZAW000002;Volkswagen;Passat;= 500;;;\n"
    "R-12;2024-05-04;Jonas Weber;0172 3456789;WVWZZZ1KZAW000002;Volkswagen;Passat;;;;180\n"
)


def test_an_order_per_row_with_its_lines_in_cells_and_a_new_version_of_the_cell_replaces_them(cast):
    job = _run(cast.a, "orders.csv", CELLS)

    assert {name: job.mapping.get(name) for name in ("lines", "part_lines", "declined_work")} == {
        "lines": "Job lines", "part_lines": "Parts used", "declined_work": "Recommendations"}
    # R-10 spans lines 2 to 4; R-11's order goes in without the item nobody can read
    assert job.warning_list == [(5, "Job lines", "Item 1 “= 500” has no description.")]
    assert job.counts["rejected"] == 0
    with schema_context(cast.a.schema_name):
        assert _lines("R-10") == [
            ("labour", "maintenance", "Inspection", Decimal("1.00"), Decimal("4500.00"), Decimal("4500.00")),
            ("labour", "repair", "Suspension check", Decimal("1.00"), Decimal("1200.00"), Decimal("1200.00")),
            ("part", "maintenance", "Oil filter", Decimal("2.00"), Decimal("400.00"), Decimal("800.00")),
            ("part", "maintenance", "Engine oil 5W-30", Decimal("4.50"), Decimal("900.00"), Decimal("4050.00")),
        ]
        order = ServiceVisit.objects.get(order_number="R-10")
        assert order.total_amount == Decimal("10550.00")  # from the lines, not the file's total
        assert ServiceVisit.objects.get(order_number="R-12").total_amount == Decimal("180.00")  # no lines: the file's
        assert sorted(order.declined.values_list("description", "estimate")) == [
            ("Brake pads", Decimal("6000.00")), ("Wiper blades", None)]
        inspection = JobLine.objects.get(visit=order, description="Inspection")

    _run(cast.a, "orders again.csv", CELLS.replace("Inspection = 4500; Suspension check x1 @ 1200",
                                                   "Inspection = 4700"))

    with schema_context(cast.a.schema_name):
        assert [line[2:] for line in _lines("R-10")] == [
            ("Inspection", Decimal("1.00"), Decimal("4700.00"), Decimal("4700.00")),
            ("Oil filter", Decimal("2.00"), Decimal("400.00"), Decimal("800.00")),
            ("Engine oil 5W-30", Decimal("4.50"), Decimal("900.00"), Decimal("4050.00")),
        ]
        assert JobLine.objects.get(visit=order, description="Inspection").pk == inspection.pk
        assert ServiceVisit.objects.get(order_number="R-10").total_amount == Decimal("9550.00")


def test_a_line_nobody_can_read_is_left_out_with_a_warning_and_its_row_still_goes_in(cast):
    job = _run(cast.a, "odd.csv", HEADER + (
        f"R-5;2024-03-01;{CUSTOMER};15200;;Sublet;Glass repair;;1;900;;\n"
        f"R-6;2024-03-02;Jonas Weber;0172 3456789;WVWZZZ1KZAW000002;VW;Passat;800;;Misc;Car wash;;1;100;;\n"
        f"R-5;2024-03-01;{CUSTOMER};15200;;Labour;Alignment;;1;700;;maybe\n"
        f"R-5;2024-03-01;{CUSTOMER};15200;;Labour;Balancing;;two;40;;\n"
    ))

    assert job.warning_list == [
        (3, "Line type", "Line type (labour or part): “Misc” is neither labour nor a part (labour, part, работа, "
                         "запчасть, 工时, 配件…)."),
        (4, "Declined", "Declined (a yes/no column): “maybe” is neither yes nor no."),
        (5, "Qty", "“two” is not an amount."),
        (5, "Qty", "Job line “Balancing” left out: the value for Quantity could not be read."),
    ]
    assert job.counts["rejected"] == 0
    with schema_context(cast.a.schema_name):
        assert _lines("R-5") == [("labour", "repair", "Glass repair", Decimal("1.00"), Decimal("900.00"),
                                  Decimal("900.00"))]
        weber = ServiceVisit.objects.get(order_number="R-6")  # the customer, car and order, without the line
        assert (weber.person.family_name, weber.vehicle.vin, weber.lines.count()) == (
            "Weber", "WVWZZZ1KZAW000002", 0)


def test_another_groups_staff_see_nothing_of_the_imported_orders(cast, staff):
    _run(cast.a, "service lines.csv", LINES)
    with schema_context(cast.a.schema_name):
        order = ServiceVisit.objects.get(order_number="R-1")

    mine = cast.signed_in(cast.a, cast.a_admin).get(f"/crm/service/visits/{order.pk}/")
    theirs = cast.signed_in(cast.b, cast.b_admin).get(f"/crm/service/visits/{order.pk}/")

    assert mine.status_code == 200 and "Brake pads replacement" in mine.text and "Oil filter" in mine.text
    assert theirs.status_code == 404
    with schema_context(cast.b.schema_name):
        assert not ServiceVisit.objects.exists() and not JobLine.objects.exists()


def test_an_order_per_row_file_with_work_text_and_serial_numbers_keeps_its_totals_and_gets_no_lines(cast):
    job = _run(cast.a, "工单.csv", (
        "序号;工单号;日期;车主;VIN码;品牌;车型;维修项目;客户拒绝;金额\n"
        "1;W-1;2024-06-01;王芳;LSVAU2189N2000001;大众;朗逸;更换机油;否;380\n"
        "2;W-2;2024-06-02;王芳;LSVAU2189N2000001;大众;朗逸;更换刹车片;是;0\n"
    ))

    assert job.problem_list == [] and job.mapping.get("line_number") is None
    with schema_context(cast.a.schema_name):
        oil, brakes = ServiceVisit.objects.filter(order_number__startswith="W-").order_by("order_number")
        assert not JobLine.objects.filter(visit__in=[oil, brakes]).exists()
        assert (oil.total_amount, list(oil.declined.all())) == (Decimal("380.00"), [])
        assert list(brakes.declined.values_list("description", "category")) == [("更换刹车片", "repair")]


def test_an_advisor_is_found_among_staff_by_name_in_any_form_and_never_guessed_between_two(cast, staff):
    with schema_context(cast.a.schema_name):
        for email in ("oleg.1@alpha.test", "oleg.2@alpha.test"):
            staff_user_create(email=email, password=None, role=StaffRole.SERVICE_ADVISOR, first_name="Олег",
                              last_name="Иванов")
        User.objects.create_user("ivan.owner@alpha.test", first_name="Иван", last_name="Петров")  # a car owner

        found = advisors_match(["Петров Иван Иванович", "Petrov I.", "PETROV@alpha.test", "Иванов Олег",
                                "Иванов О.", "Сидорова А."])

    assert found == dict.fromkeys(("Петров Иван Иванович", "Petrov I.", "PETROV@alpha.test"), staff["petrov"].pk)


def test_job_lines_that_leave_the_order_header_blank_take_it_from_the_orders_first_row(cast, staff):
    """Many DMS reports write the customer, car and date on an order's first row only (or as merged cells): its
    other lines are the same order's, not rows that name nobody."""
    text = HEADER + (
        f"R-7;2024-05-02;{CUSTOMER};15900;Petrov Ivan;Labour;Oil change;Maintenance;1;2500;;\n"
        "R-7;;;;;;;;;Part;Oil filter;Maintenance;1;800;;\n"
        "R-7;;;;;;;;;Part;Air filter;Maintenance;1;600;;\n"
        "R-8;2024-06-10;Jonas Weber;0172 3456789;1HGCM82633A004352;Honda;Accord;40100;;Labour;Alignment;;1;1900;;\n"
        "R-8;;;;;;;;;Part;Wheel weights;;4;25;;\n"
    )

    job = _run(cast.a, "fill-down.csv", text)

    assert (job.counts["rejected"], job.problem_list) == (0, [])
    with schema_context(cast.a.schema_name):
        assert [line[2] for line in _lines("R-7")] == ["Oil change", "Oil filter", "Air filter"]
        assert [line[2] for line in _lines("R-8")] == ["Alignment", "Wheel weights"]
        r7, r8 = ServiceVisit.objects.get(order_number="R-7"), ServiceVisit.objects.get(order_number="R-8")
        assert (r7.person.family_name, r7.vehicle.vin, r7.opened_on, r7.mileage) == (
            "Schmidt", "WVWZZZ1KZAW000001", date(2024, 5, 2), 15900)
        assert r8.person.family_name == "Weber" and r8.total_amount == Decimal("2000")
        assert Person.objects.filter(family_name__in=["Schmidt", "Weber"]).count() == 2
