"""Least privilege on customer data: who may download customer lists (each download recorded), and who
reads a prospect's notes on the customer's timeline."""

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import StaffRole, User
from crm.core.services import staff_user_create
from crm.customers.models import AuditEntry, TimelineEntry
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.sales import services as sales
from crm.sales.services import FirstContact

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(cast):
    """Alpha's salesperson Anna (the cast's), a second salesperson, a sales manager and a service advisor."""
    with schema_context(cast.a.schema_name):
        User.objects.filter(email=cast.a_salesperson).update(first_name="Anna", last_name="Albers")
        return {
            "anna": User.objects.get(email=cast.a_salesperson),
            "boris": staff_user_create(email="boris@alpha.test", password=cast.password, role=StaffRole.SALESPERSON,
                                       first_name="Boris", last_name="Brandt"),
            "manager": staff_user_create(email="maria@alpha.test", password=cast.password,
                                         role=StaffRole.SALES_MANAGER, first_name="Maria"),
            "advisor": staff_user_create(email="sven@alpha.test", password=cast.password,
                                         role=StaffRole.SERVICE_ADVISOR, first_name="Sven"),
        }


def _download(client, **params):
    response = client.get("/crm/customers/export.csv", params)
    body = b"".join(response.streaming_content).decode("utf-8-sig") if response.status_code == 200 else ""
    return response, body


def test_only_the_roles_the_dealer_admin_allows_download_customer_lists_and_each_download_is_recorded(cast, staff):
    with schema_context(cast.a.schema_name):
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        for n in range(3):
            person_create(by=None, fields={"family_name": f"Kunde {n}", "rooftop": hamburg},
                          phones=[f"+4940555{n:04d}"])
        person_create(by=None, fields={"family_name": "Kunde Berlin"})
    salesperson = cast.signed_in(cast.a, cast.a_salesperson)
    manager = cast.signed_in(cast.a, "maria@alpha.test")
    admin = cast.signed_in(cast.a, cast.a_admin)

    # A salesperson finds customers but gets no download button, and a direct request is refused, saying why.
    listing = salesperson.get("/crm/customers/", {"q": "kunde"})
    assert "Kunde 0" in listing.text and "/crm/customers/export.csv" not in listing.text
    refused, _ = _download(salesperson, q="kunde")
    assert refused.status_code == 403
    assert "Your role may not download customer lists" in refused.content.decode()
    assert "Sales manager, Service manager" in refused.content.decode()

    # A sales manager may (the default), and the download is recorded with its filter and rows.
    assert "/crm/customers/export.csv" in manager.get("/crm/customers/", {"q": "kunde"}).text
    allowed, body = _download(manager, q="kunde", rooftop=hamburg.pk)
    assert allowed.status_code == 200 and len(body.strip().splitlines()) == 4  # header + Hamburg's three
    with schema_context(cast.a.schema_name):
        record = AuditEntry.objects.get(action="customers_exported")
        assert (record.actor.email, record.person) == ("maria@alpha.test", None)
        assert record.changes == {"format": "csv", "search": "kunde", "rooftop": "Alpha Hamburg",
                                  "archived": False, "rows": 3}

    # The dealer admin lets salespeople download instead of sales managers: both take effect at once.
    changed = admin.post("/crm/customers/data-access/", {"roles": [StaffRole.SALESPERSON, StaffRole.SERVICE_MANAGER]})
    assert changed.status_code == 302
    assert _download(salesperson, q="kunde")[0].status_code == 200
    assert _download(manager)[0].status_code == 403
    assert "/crm/customers/export.csv" not in manager.get("/crm/customers/").text

    # The admin's screen lists every download and the change of the rule; nobody else reaches it.
    screen = admin.get("/crm/customers/data-access/").content.decode()
    assert "CSV — search “kunde”, rooftop Alpha Hamburg" in screen and "Maria" in screen
    assert "Who may download: Sales manager, Service manager → Salesperson, Service manager" in screen
    with schema_context(cast.a.schema_name):
        assert AuditEntry.objects.filter(action="customers_exported").count() == 2
    assert salesperson.get("/crm/customers/data-access/").status_code == 403
    bravo = cast.signed_in(cast.b, cast.b_admin).get("/crm/customers/data-access/")
    assert bravo.context["log"] == [] and "Alpha Hamburg" not in bravo.content.decode()
    assert _download(cast.signed_in(cast.a, cast.a_owner))[0].status_code == 403


def _worked_by_boris(staff, customer):
    """Boris's prospect on the customer, with what was said in working it."""
    prospect = sales.prospect_create(person=customer, by=staff["boris"], level="B", fields={"source": "walk_in"},
                                     first_contact=FirstContact("visit", "reached", "Wife decides, budget 40k"))
    sales.contact_log(prospect=prospect, by=staff["boris"], kind="call", outcome="negotiating",
                      note="Wants 5% off for the trade-in", next_step="Send the offer with winter tyres")
    sales.level_change(prospect=prospect, by=staff["boris"], level="H", note="Competitor quoted lower, decides Friday")
    return prospect


SECRETS = ("budget 40k", "5% off", "winter tyres", "decides Friday")


def test_a_salesperson_sees_that_a_colleague_holds_a_customer_but_not_the_colleagues_notes(cast, staff):
    with schema_context(cast.a.schema_name):
        customer = person_create(by=None, fields={"family_name": "Vogel", "given_name": "Vera"})
        prospect = _worked_by_boris(staff, customer)
    url = f"/crm/customers/{customer.pk}/"

    anna = cast.signed_in(cast.a, cast.a_salesperson).get(url).content.decode()
    assert "held by Boris Brandt (level H)" in anna  # who holds the customer: no second salesperson on them
    assert not [secret for secret in SECRETS if secret in anna]
    assert cast.signed_in(cast.a, cast.a_salesperson).get(f"/crm/sales/prospects/{prospect.pk}/").status_code == 404
    assert not [secret for secret in SECRETS if secret in cast.signed_in(cast.a, "sven@alpha.test").get(url).text]

    for reader in ("boris@alpha.test", "maria@alpha.test", cast.a_admin):  # the holder and the managers
        page = cast.signed_in(cast.a, reader).get(url).content.decode()
        assert [secret for secret in SECRETS if secret in page] == list(SECRETS), reader
    assert cast.signed_in(cast.b, cast.b_admin).get(url).status_code == 404


def test_the_customer_page_of_a_colleagues_prospect_costs_the_same_queries_however_many_notes(cast, staff):
    with schema_context(cast.a.schema_name):
        customer = person_create(by=None, fields={"family_name": "Vogel", "given_name": "Vera"})
        prospect = _worked_by_boris(staff, customer)
    anna = cast.signed_in(cast.a, cast.a_salesperson)
    url = f"/crm/customers/{customer.pk}/"
    anna.get(url)
    with CaptureQueriesContext(connection) as few:
        anna.get(url)
    with schema_context(cast.a.schema_name):
        for n in range(40):
            sales.contact_log(prospect=prospect, by=staff["boris"], kind="call", outcome="reached", note=f"call {n}")
    with CaptureQueriesContext(connection) as many:
        page = anna.get(url).content.decode()

    assert len(many) == len(few), [query["sql"][:100] for query in many]
    assert "call 39" not in page


def test_notes_written_before_the_rule_are_restricted_by_its_migration(cast, staff):
    backfill = importlib.import_module("crm.sales.migrations.0004_timeline_notes_restricted")
    with schema_context(cast.a.schema_name):
        customer = person_create(by=None, fields={"family_name": "Vogel", "given_name": "Vera"})
        prospect = _worked_by_boris(staff, customer)
        sales.prospect_assign(prospect=prospect, to_user=staff["anna"], by=staff["manager"])
        restricted = dict(TimelineEntry.objects.filter(person=customer).values_list("pk", "restricted_to"))
        TimelineEntry.objects.filter(person=customer).update(restricted_to="")  # as the rows were before

        with connection.cursor() as cursor:
            for statement in (backfill.CONTACTS, backfill.LEVELS, backfill.ENQUIRIES):
                cursor.execute(statement)

        after = dict(TimelineEntry.objects.filter(person=customer).values_list("pk", "restricted_to"))
    assert after == restricted
    assert sorted(after.values()).count(f"prospect:{prospect.pk}") == 3  # two contacts and the level change


def test_the_timeline_pages_back_to_the_first_entry_and_keeps_a_colleagues_notes_sealed(cast, staff):
    with schema_context(cast.a.schema_name):
        customer = person_create(by=None, fields={"family_name": "Vogel", "given_name": "Vera"})
        prospect = _worked_by_boris(staff, customer)
        for n in range(60):  # the notes above end up on the older pages
            sales.contact_log(prospect=prospect, by=staff["boris"], kind="call", outcome="reached", note=f"call {n}")
        TimelineEntry.objects.filter(person=customer).update(occurred_at=F("occurred_at") - timedelta(days=1))
        for n in range(40):
            TimelineEntry.objects.create(person=customer, kind=TimelineEntry.Kind.NOTE, occurred_at=timezone.now(),
                                         summary=f"recent note {n}")
        first = TimelineEntry.objects.filter(person=customer).order_by("occurred_at", "pk").first()
        total = TimelineEntry.objects.filter(person=customer).count()
    anna = cast.signed_in(cast.a, cast.a_salesperson)
    timeline = f"/crm/customers/{customer.pk}/timeline/"

    detail = anna.get(f"/crm/customers/{customer.pk}/").text
    assert f'href="{timeline}?page=2"' in detail and "Older entries" in detail
    pages = [anna.get(timeline, {"page": number}) for number in (1, 2, 3)]
    assert all(page.status_code == 200 for page in pages)
    entries = [entry for page in pages for entry in page.context["entries"]]
    assert len(entries) == total > 100 and entries[-1].pk == first.pk  # back to the first entry
    assert [entry.pk for entry in pages[0].context["entries"]] == [
        entry.pk for entry in anna.get(f"/crm/customers/{customer.pk}/").context["view"].timeline]
    assert not any(f"call {n}" in page.text for page in pages for n in range(60))  # sealed for Anna
    assert any(f"call {n}" in cast.signed_in(cast.a, "boris@alpha.test").get(timeline, {"page": 2}).text
               for n in range(60))  # the holder reads them
    assert cast.signed_in(cast.b, cast.b_admin).get(timeline).status_code == 404
    assert cast.signed_in(cast.a, cast.a_owner).get(timeline).status_code == 403
