"""Importing a DMS file, a thousand rows at a time, set-based.

For each chunk the importer looks up, in a handful of queries, everything the rows may refer to
(DMS customer numbers, phones, e-mails, VINs, rows imported before), decides in Python which
customer and which car each row is, then writes with bulk inserts and updates. A row becomes:

- ``unchanged``: the very same row was imported before (by its fingerprint); nothing is written;
- ``updated``: its DMS customer number is known; the customer's empty fields are filled, new
  phones, e-mails, cars, readings and visits added; nothing already recorded is overwritten;
- ``merged``: no number, but an exact strong match — the same phone, e-mail or car *and* the same
  name in any script or order, no conflicting birth date — to a customer already in the CRM or
  earlier in the file, so it is folded into that customer (the only automatic merge);
- ``created``: a new customer; if it resembles anyone without matching exactly, the pair goes to
  the duplicate review queue after the run (``review``);
- ``rejected``: a row that names nobody (no name, company, phone, e-mail, VIN or DMS number) or cannot
  be read, reported with its line and reason; it changes nothing.

One bad value never costs the row: a VIN failing its check digit, a phone no country reads, a date
that makes no sense are left out of the record (or, for a doubtful VIN, kept as written), the rest of
the row goes in, and the value is kept on a data-quality hint of the customer (``DataHint``) and
reported as a warning with its line and column (``warnings`` counts the rows with any).
Every row keeps its lineage (``ImportedRow``: the file, the line, the customer, company and car).

A row that names a company (a fleet or corporate buyer) puts the car on the company, found by
its DMS number, else its tax id, else its legal name, or created (``created``/``updated`` then
count the company when the row names no person). The DMS number of such a row is the company's.
A person on the same row is the company-car user: resolved as above, where the company's
current people count as a shared contact (the same name at the same company is the same
person), linked to the car as its user and recorded in that role at the company.

A real run commits chunk by chunk, with the job's progress in the same transaction, so a run
that stops half-way resumes where it stopped. A dry run does all the same work in one
transaction and rolls it back; its progress goes through a connection of its own.
"""

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import Func, Q, Value
from django.db.models.functions import Lower, Trim
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from psycopg import sql

from crm.core.bulk import Writer, copy_update, key_in
from crm.dealerships.models import Rooftop

from .. import normalize
from ..identity import resolve
from ..models import (
    AuditEntry,
    Channel,
    Company,
    CompanyContact,
    CompanyRole,
    DataHint,
    DuplicateCandidate,
    Email,
    ExternalRef,
    ImportedRow,
    ImportJob,
    ImportKind,
    ImportProblem,
    MileageReading,
    Person,
    Phone,
    TimelineEntry,
    Vehicle,
    VehicleLink,
)
from ..services import tenant_currency, tenant_language, tenant_regions
from ..signals import visits_imported
from ..timeline import day_noon, timeline_event
from . import files
from .fields import VEHICLE_TARGETS, Parsed, RowParser

log = logging.getLogger(__name__)

CHUNK = 1000
SYSTEM = "dms"  # sales and service DMS number their customers separately: the file's kind is appended
OUTCOMES = ("created", "updated", "merged", "unchanged", "review", "warnings", "rejected")


@dataclass(eq=False)
class Ref:
    """The customer a row resolves to: one already in the CRM, or one this chunk creates."""

    person: Person
    new: bool
    name_key: str
    birth_date: date | None
    han: str = ""  # the name's Han characters, when written in them
    changes: dict[str, list[Any]] = field(default_factory=dict)


def job_table(job: ImportJob, data: bytes | None = None) -> files.Table:
    """The job's file as a table; ``data`` when its bytes are already at hand."""
    if data is None:
        with job.file.open("rb") as handle:
            data = handle.read()
    return files.table_open(job.original_name, data, encoding=job.encoding, language=tenant_language())


def job_parser(job: ImportJob, header: list[str]) -> RowParser:
    rooftops = {name.lower(): pk for pk, name in Rooftop.objects.values_list("pk", "name")}
    return RowParser(header=header, mapping=job.mapping, kind=job.kind, date_format=job.date_format,
                     regions=tenant_regions(), rooftops=rooftops)


def job_run(job: ImportJob, *, resume: bool = False) -> None:
    """Run (or dry-run) the job's file with its mapping; the job records progress and outcome."""
    job.status, job.started_at, job.finished_at, job.message = ImportJob.Status.RUNNING, timezone.now(), None, ""
    if not resume:
        job.processed_rows, job.counts = 0, {}
        job.problems.all().delete()
    job.save()
    language = (job.created_by.preferred_language if job.created_by else "") or tenant_language()
    try:
        with override(language):  # problem reports in the language of whoever uploaded the file
            with job.file.open("rb") as handle:
                data = handle.read()
            table = job_table(job, data)
            job.total_rows = sum(1 for _row in job_table(job, data).rows)  # a first pass, for the progress bar
            job.save(update_fields=["total_rows"])
            importer = Importer(job, job_parser(job, table.header))
            if job.dry_run:
                importer.dry_run(table.rows)
            else:
                importer.run(table.rows, skip=job.processed_rows if resume else 0)
    except files.FileUnreadable as error:
        job.status, job.message = ImportJob.Status.FAILED, str(error)
    except Exception:
        log.exception("import %s failed", job.pk)
        job.status = ImportJob.Status.FAILED
        job.message = _("The import stopped on an unexpected error. Rows up to the progress shown are in; "
                        "run it again to continue.")
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "message", "finished_at"])
        raise
    else:
        job.status = ImportJob.Status.DONE
        if not job.dry_run and job.file:
            job.file.delete(save=False)  # the customers' data now lives in the CRM, not in a stray upload
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at", "file"])


class Importer:
    def __init__(self, job: ImportJob, parser: RowParser) -> None:
        self.job, self.parser = job, parser
        self.counts: Counter[str] = Counter({name: int(job.counts.get(name, 0)) for name in OUTCOMES})
        self.seen: dict[str, int] = {}  # fingerprint -> first line with it, in this file
        self.currency = tenant_currency()
        self.today = timezone.localdate()
        self.system = f"{SYSTEM}-{job.kind}"
        self.writer = Writer()
        self.row_outcomes: dict[int, str] = {}  # line -> outcome, for the row's lineage
        self.row_orders: dict[int, str] = {}  # line -> the repair order's DMS key

    # Running ------------------------------------------------------------------------------

    def _batches(self, rows: Iterator[files.Row], skip: int = 0) -> Iterator[tuple[int, list[Parsed],
                                                                                   list[ImportProblem]]]:
        """Parsed rows and problems, a chunk at a time, with how many rows were read so far."""
        read, in_chunk, parsed, problems = 0, 0, [], []
        for row in rows:
            read += 1
            record, reasons = self._parse(row)
            if read <= skip:
                continue  # already imported by the run this one resumes; parsed only to know its fingerprints
            if record is None and not reasons:
                self.counts["unchanged"] += 1  # a repeat of an earlier line
                continue
            in_chunk += 1
            values = [files.printable(value) for value in row.values] if record is None or record.hints else []
            if record is None:
                problems.append(ImportProblem(job=self.job, line=row.line, reason="; ".join(reasons), values=values))
            else:
                parsed.append(record)
                problems += [ImportProblem(job=self.job, line=row.line, column=hint.column, reason=hint.message,
                                           severity=ImportProblem.Severity.WARNING, values=values)
                             for hint in record.hints]
            if in_chunk >= CHUNK:
                yield read, parsed, problems
                parsed, problems, in_chunk = [], [], 0
        yield read, parsed, problems

    def _parse(self, row: files.Row) -> tuple[Parsed | None, list[str]]:
        if row.undecodable:
            return None, [_("The row contains bytes that are not %(encoding)s text; the file may mix encodings.")
                          % {"encoding": self.job.encoding if self.job.encoding != "auto" else "UTF-8"}]
        record, reasons = self.parser.parse(row.line, row.values)
        if record is None:
            return None, reasons
        first = self.seen.setdefault(record.fingerprint, row.line)
        if first != row.line:
            return None, []  # the same values as an earlier line: they go in once
        return record, []

    def run(self, rows: Iterator[files.Row], *, skip: int = 0) -> None:
        for read, parsed, problems in self._batches(rows, skip):
            with transaction.atomic():
                self.chunk(parsed)
                self.writer.create(problems)
                self._count_problems(parsed, problems)
                self._progress_save(read)
        with transaction.atomic():
            self.review()
            self._progress_save(self.job.processed_rows)

    def dry_run(self, rows: Iterator[files.Row]) -> None:
        problems: list[ImportProblem] = []
        with _SideChannel(self.job) as progress, transaction.atomic():
            for read, parsed, chunk_problems in self._batches(rows):
                self.chunk(parsed)
                problems += chunk_problems
                self._count_problems(parsed, chunk_problems)
                progress.report(read)
            self.review()
            transaction.set_rollback(True)
        self.writer.create(problems)
        self.job.processed_rows = self.job.total_rows
        self.job.counts = dict(self.counts)
        self.job.save(update_fields=["processed_rows", "counts"])

    def _count_problems(self, parsed: list[Parsed], problems: list[ImportProblem]) -> None:
        self.counts["rejected"] += sum(problem.severity == ImportProblem.Severity.REJECTED for problem in problems)
        self.counts["warnings"] += sum(bool(row.hints) for row in parsed)

    def _progress_save(self, read: int) -> None:
        self.job.processed_rows, self.job.counts = read, dict(self.counts)
        self.job.save(update_fields=["processed_rows", "counts"])

    def review(self) -> None:
        """Queue every customer this file created or touched that resembles someone, and count them."""
        ids = list(ImportedRow.objects.filter(job=self.job, person__isnull=False)
                   .values_list("person_id", flat=True).distinct())
        if not ids:
            return
        # The duplicate search joins what this file wrote: planned on statistics of before, it nests loops.
        self.writer.statistics_refresh()
        # One person's records merge (probability >= 0.999, undoable); likely pairs go to the review queue.
        if merged := resolve(ids)[0]:
            self.counts["duplicates_merged"] = merged
        flagged = DuplicateCandidate.objects.filter(
            Q(person_a_id__in=ids) | Q(person_b_id__in=ids), status=DuplicateCandidate.Status.OPEN,
        ).values_list("person_a_id", "person_b_id")
        self.counts["review"] = len({pk for pair in flagged for pk in pair} & set(ids))

    # One chunk ----------------------------------------------------------------------------

    def chunk(self, rows: list[Parsed]) -> None:
        self.writer.statistics_refresh()  # the lookups below are planned on what earlier chunks wrote
        known = set(ImportedRow.objects.filter(fingerprint__in=[row.fingerprint for row in rows])
                    .values_list("fingerprint", flat=True))
        todo = [row for row in rows if row.fingerprint not in known]
        self.counts["unchanged"] += len(rows) - len(todo)
        if not todo:
            return
        companies = self._companies_save(todo)
        people_rows = [row for row in todo if row.has_person]
        refs = self._resolve(people_rows, companies)
        self._people_save(people_rows, refs)
        self._contacts_save(people_rows, refs)
        vehicles = self._vehicles_save(todo, refs, companies)
        self._links_save(todo, refs, companies, vehicles)
        self._company_contacts_save(people_rows, refs, companies, vehicles)
        self._history_save(todo, refs, vehicles)
        self._hints_save(todo, refs, companies, vehicles)
        self.writer.create(
            [ExternalRef(system=self.system, key=row.customer_number, company=companies.get(row.line),
                         person=None if row.company else refs[row.line].person)
             for row in todo if row.customer_number],
            ignore_conflicts=True,
        )
        self.writer.create(
            [ImportedRow(fingerprint=row.fingerprint, job=self.job, line=row.line, company=companies.get(row.line),
                         person=refs[row.line].person if row.has_person else None, vehicle=vehicles.get(row.line),
                         outcome=self.row_outcomes.pop(row.line, ""), order_ref=self.row_orders.pop(row.line, ""))
             for row in todo],
            ignore_conflicts=True,
        )

    def _hints_save(self, rows: list[Parsed], refs: dict[int, Ref], companies: dict[int, Company],
                    vehicles: dict[int, Vehicle]) -> None:
        """Each value the row could not use, kept on the record it belongs to: the car's fields on the
        car (and its customer), the rest on the customer (the company, on a row naming no person)."""
        hints = []
        for row in rows:
            for hint in row.hints:
                person = refs[row.line].person if row.has_person else None
                company = companies.get(row.line) if person is None else None
                vehicle = vehicles.get(row.line) if hint.field in VEHICLE_TARGETS else None
                hints.append(DataHint(person=person, company=company, vehicle=vehicle, field=hint.field,
                                      value=hint.value, message=hint.message, suggestion=hint.suggestion,
                                      job=self.job, line=row.line))
        self.writer.create(hints, ignore_conflicts=True)

    def _resolve(self, rows: list[Parsed], companies: dict[int, Company]) -> dict[int, Ref]:
        """Which customer each row is: by DMS number, by an exact strong match, or a new one.
        On a company's row, the company's current people count as contacts the row may match by name."""
        numbers = {_person_number(row) for row in rows} - {""}
        by_number = dict(ExternalRef.objects.filter(system=self.system, key__in=numbers, person__isnull=False)
                         .values_list("key", "person_id"))
        phones = {number for row in rows for number in row.phones}
        emails = {address for row in rows for address in row.emails}
        vins = {row.vehicle["vin"] for row in rows if row.vehicle.get("vin")}
        pairs: list[tuple[str, int]] = [
            *((f"phone:{n}", pk) for n, pk in Phone.objects.filter(key_in(Phone, "number", phones))
              .values_list("number", "person_id")),
            *((f"email:{a}", pk) for a, pk in Email.objects.filter(key_in(Email, "address", emails))
              .values_list("address", "person_id")),
            *((f"vin:{v}", pk) for v, pk in VehicleLink.objects.filter(
                vehicle__in=Vehicle.objects.filter(key_in(Vehicle, "vin", vins)), ended_on__isnull=True,
                person__isnull=False,
            ).values_list("vehicle__vin", "person_id")),
            *((f"company:{c}", pk) for c, pk in CompanyContact.objects.filter(
                company__in={company.pk for company in companies.values()}, ended_on__isnull=True,
            ).values_list("company_id", "person_id")),
        ]
        ids = set(by_number.values()) | {pk for _key, pk in pairs}
        people = Person.objects.in_bulk(ids)
        # A record merged into another is found through its survivor.
        survivors = Person.objects.in_bulk({p.merged_into_id for p in people.values() if p.merged_into_id})
        existing: dict[int, Ref] = {}

        def existing_ref(pk: int) -> Ref | None:
            person = people.get(pk)
            if person is not None and person.merged_into_id:
                person = survivors.get(person.merged_into_id)
            if person is None:
                return None
            if person.pk not in existing:
                existing[person.pk] = Ref(person, False, person.name_key, person.birth_date,
                                          normalize.han_written(person.family_name, person.given_name))
            return existing[person.pk]

        contacts: dict[str, list[Ref]] = {}
        for key, pk in pairs:
            ref = existing_ref(pk)
            if ref is not None:
                contacts.setdefault(key, []).append(ref)
        new_numbers: dict[str, Ref] = {}
        refs: dict[int, Ref] = {}
        for row in rows:
            ref, outcome, number = None, "updated", _person_number(row)
            if number:
                ref = new_numbers.get(number) or (existing_ref(by_number[number]) if number in by_number else None)
                if ref is not None and _names_disagree(ref.person, row):
                    ref = None  # a fleet or family account's number on someone else: not this record
            keys = row.contact_keys + ([f"company:{companies[row.line].pk}"] if row.line in companies else [])
            if ref is None:
                ref, outcome = self._strong_match(row, keys, contacts), "merged"
            if ref is None:
                person = Person(channel=Channel.IMPORT)
                ref, outcome = Ref(person, True, row.name_key, row.person.get("birth_date"), _han(row)), "created"
            self.counts[outcome] += 1
            self.row_outcomes[row.line] = outcome
            self._fill(ref, row.person)
            refs[row.line] = ref
            if number and number not in by_number:
                new_numbers.setdefault(number, ref)
            for key in keys:
                if ref not in contacts.setdefault(key, []):
                    contacts[key].append(ref)
        return refs

    @staticmethod
    def _strong_match(row: Parsed, keys: list[str], contacts: dict[str, list[Ref]]) -> Ref | None:
        """A customer sharing a contact with the row and of the same name (in characters, when both are
        written in them), with no other birth date."""
        key, born, han = row.name_key, row.person.get("birth_date"), _han(row)
        if not key:
            return None
        found = [ref for contact in keys for ref in contacts.get(contact, ())
                 if ref.name_key == key and not (born and ref.birth_date and born != ref.birth_date)
                 and not (han and ref.han and sorted(han) != sorted(ref.han))]
        # A name in Latin letters that reads as two customers written in other characters (Lu Gang: 陆刚 or
        # 陆钢, brothers on one phone) is neither for sure: a new record, for identity resolution to weigh.
        if len({"".join(sorted(ref.han)) for ref in found if ref.han}) > 1:
            return None
        return found[0] if found else None

    @staticmethod
    def _fill(ref: Ref, values: dict[str, Any]) -> None:
        """Empty fields take the row's values; filled ones keep what the CRM has (survivorship rule 1)."""
        person = ref.person
        for name, value in values.items():
            attname = "rooftop_id" if name == "rooftop" else name
            if getattr(person, attname) in ("", None):
                setattr(person, attname, value)
                if not ref.new:
                    ref.changes[name] = [None, value.isoformat() if isinstance(value, date) else value]
        if ref.birth_date is None:
            ref.birth_date = person.birth_date
        if not ref.new and person.archived_at is not None:
            ref.changes["archived_at"] = [person.archived_at.isoformat(), None]
            person.archived_at = None  # back in the DMS file: back in contact

    def _people_save(self, rows: list[Parsed], refs: dict[int, Ref]) -> None:
        created = list({id(ref): ref for ref in refs.values() if ref.new}.values())
        for ref in created:
            ref.person.derive()
        self.writer.create([ref.person for ref in created])
        changed = [ref for ref in {id(ref): ref for ref in refs.values() if not ref.new}.values() if ref.changes]
        fields = {"updated_at", *("rooftop" if name == "rooftop" else name for ref in changed for name in ref.changes)}
        if fields & {"family_name", "given_name", "middle_name"}:
            fields |= {"family_name_latin", "given_name_latin", "name_key", "search_text", "name_order"}
        now = timezone.now()
        for ref in changed:
            ref.person.derive()
            ref.person.updated_at = now
        if changed:
            copy_update([ref.person for ref in changed], sorted(fields))
        self.writer.create([
            *(AuditEntry(person=ref.person, action="imported", changes={"source": self.job.original_name})
              for ref in created),
            *(AuditEntry(person=ref.person, action="import_updated",
                         changes={**ref.changes, "source": self.job.original_name}) for ref in changed),
        ])
        self.writer.create(
            timeline_event("record_created", {"source": "import", "name": self.job.original_name}, person=ref.person,
                           occurred_at=now, rooftop_id=ref.person.rooftop_id)
            for ref in created
        )

    def _contacts_save(self, rows: list[Parsed], refs: dict[int, Ref]) -> None:
        people = {ref.person.pk for ref in refs.values()}
        with_phone = set(Phone.objects.filter(person_id__in=people).values_list("person_id", flat=True))
        with_email = set(Email.objects.filter(person_id__in=people).values_list("person_id", flat=True))
        phones: dict[tuple[int, str], Phone] = {}
        emails: dict[tuple[int, str], Email] = {}
        for row in rows:
            pk = refs[row.line].person.pk
            for number in row.phones:
                if (pk, number) not in phones:
                    phones[pk, number] = Phone(person_id=pk, number=number, is_primary=pk not in with_phone)
                    with_phone.add(pk)
            for address in row.emails:
                if (pk, address) not in emails:
                    emails[pk, address] = Email(person_id=pk, address=address, is_primary=pk not in with_email)
                    with_email.add(pk)
        self.writer.create(phones.values(), ignore_conflicts=True)
        self.writer.create(emails.values(), ignore_conflicts=True)

    def _companies_save(self, rows: list[Parsed]) -> dict[int, Company]:
        """The company each company row names: by its DMS number, else its tax id, else its legal
        name (unless both carry different tax ids), else a new one. Blank fields of a known company
        are filled, nothing recorded is overwritten, an archived one is back; a row without a person
        counts the company's outcome."""
        named = [row for row in rows if row.company]
        if not named:
            return {}
        numbers = {row.customer_number for row in named} - {""}
        by_number_pk = dict(ExternalRef.objects.filter(system=self.system, key__in=numbers, company__isnull=False)
                            .values_list("key", "company_id"))
        tax_ids = {row.company["tax_id"] for row in named} - {""}
        names = {normalize.company_name_key(row.company["legal_name"]) for row in named}
        name_key = Trim(Func(Lower("legal_name"), Value(r"\s+"), Value(" "), Value("g"), function="REGEXP_REPLACE"))
        found = Company.objects.annotate(name_key=name_key).filter(
            Q(pk__in=by_number_pk.values()) | Q(tax_id__in=tax_ids) | Q(name_key__in=names)).order_by("pk")
        by_pk: dict[int, Company] = {}
        by_tax: dict[str, Company] = {}
        by_name: dict[str, list[Company]] = {}
        for company in found:
            by_pk[company.pk] = company
            if company.tax_id:
                by_tax.setdefault(company.tax_id, company)
            by_name.setdefault(normalize.company_name_key(company.legal_name), []).append(company)
        by_number = {key: by_pk[pk] for key, pk in by_number_pk.items() if pk in by_pk}
        chosen: dict[int, Company] = {}
        created: list[Company] = []
        dirty: dict[int, Company] = {}
        for row in named:
            number, tax_id = row.customer_number, row.company["tax_id"]
            key = normalize.company_name_key(row.company["legal_name"])
            company = by_number.get(number) if number else None
            if company is None and tax_id:
                company = by_tax.get(tax_id)
            if company is None:
                company = next((c for c in by_name.get(key, ()) if not (tax_id and c.tax_id and c.tax_id != tax_id)),
                               None)
            outcome = "updated"
            if company is None:
                company, outcome = Company(legal_name=row.company["legal_name"], tax_id=tax_id), "created"
                created.append(company)
                by_name.setdefault(key, []).append(company)
            if number:
                by_number.setdefault(number, company)
            if tax_id:
                by_tax.setdefault(tax_id, company)
            values: dict[str, Any] = {"tax_id": tax_id}
            if not row.has_person:
                values |= {"address": row.person.get("address", ""), "rooftop_id": row.person.get("rooftop"),
                           "phone": row.phones[0] if row.phones else "", "email": row.emails[0] if row.emails else ""}
                self.counts[outcome] += 1
                self.row_outcomes[row.line] = outcome
            for name, value in values.items():
                if value not in ("", None) and getattr(company, name) in ("", None):
                    setattr(company, name, value)
                    if company.pk:
                        dirty[company.pk] = company
            if company.pk and company.archived_at is not None:
                company.archived_at = None  # back in the DMS file: back in contact
                dirty[company.pk] = company
            chosen[row.line] = company
        for company in created:
            company.derive()
        self.writer.create(created)
        if dirty:
            for company in dirty.values():
                company.derive()
                company.updated_at = timezone.now()
            copy_update(dirty.values(), ["tax_id", "address", "rooftop", "phone", "email",
                                                         "search_text", "archived_at", "updated_at"])
        return chosen

    @staticmethod
    def _party(row: Parsed, refs: dict[int, Ref], companies: dict[int, Company]) -> tuple[str, int]:
        """Whose car the row's car is: the company it names, else the person."""
        company = companies.get(row.line)
        return ("company", company.pk) if company is not None else ("person", refs[row.line].person.pk)

    def _vehicles_save(self, rows: list[Parsed], refs: dict[int, Ref],
                       companies: dict[int, Company]) -> dict[int, Vehicle]:
        """The car of each row (by VIN, else by plate or make and model among its customer's cars)."""
        vins = {row.vehicle["vin"] for row in rows if row.vehicle.get("vin")}
        by_key: dict[Any, Vehicle] = {("vin", v.vin): v for v in Vehicle.objects.filter(key_in(Vehicle, "vin", vins))}
        held = VehicleLink.objects.filter(
            Q(person_id__in={ref.person.pk for ref in refs.values() if not ref.new})
            | Q(company_id__in={company.pk for company in companies.values()}), ended_on__isnull=True,
        ).select_related("vehicle")
        for link in held:
            vehicle = link.vehicle
            party = ("company", link.company_id) if link.company_id else ("person", link.person_id)
            by_key.setdefault(("plate", party, vehicle.plate_key), vehicle)
            by_key.setdefault(("model", party, vehicle.make.lower(), vehicle.model.lower(), vehicle.year), vehicle)
        chosen: dict[int, Vehicle] = {}
        dirty: dict[int, Vehicle] = {}
        created: list[Vehicle] = []
        for row in rows:
            data = dict(row.vehicle)
            if not (data.get("vin") or data.get("plate") or (data.get("make") and data.get("model"))):
                continue
            party = self._party(row, refs, companies)
            buyer = companies[row.line] if row.line in companies else refs[row.line].person
            data["plate_key"] = normalize.plate_key(data.get("plate", ""))
            if self.job.kind == ImportKind.SALES and data.get("purchase_date"):
                data["selling_rooftop_id"] = row.person.get("rooftop") or buyer.rooftop_id
            keys = [("vin", data["vin"])] if data.get("vin") else [
                *([("plate", party, data["plate_key"])] if data["plate_key"] else []),
                ("model", party, data.get("make", "").lower(), data.get("model", "").lower(), data.get("year")),
            ]
            vehicle = next((by_key[key] for key in keys if key in by_key), None)
            if vehicle is None:
                vehicle = Vehicle(**data)
                created.append(vehicle)
            else:
                for name, value in data.items():
                    if getattr(vehicle, name) in ("", None) and value not in ("", None):
                        setattr(vehicle, name, value)
                        if vehicle.pk:
                            dirty[vehicle.pk] = vehicle
            for key in keys:
                by_key.setdefault(key, vehicle)
            chosen[row.line] = vehicle
        self.writer.create(created)
        if dirty:
            now = timezone.now()
            for vehicle in dirty.values():
                vehicle.updated_at = now
            copy_update(dirty.values(), [
                "vin", "make", "model", "year", "plate", "plate_key", "colour", "purchase_date", "warranty_end",
                "insurance_expiry", "inspection_due", "selling_rooftop", "updated_at",
            ])
        return chosen

    def _links_save(self, rows: list[Parsed], refs: dict[int, Ref], companies: dict[int, Company],
                    vehicles: dict[int, Vehicle]) -> None:
        """Ownership from the file: a car without an owner gets one (the company a row names, else
        the person); a later sale moves ownership, ending the previous owner's link (history kept);
        anyone else bringing the car in, or using a company's car, is its user."""
        current: dict[int, list[VehicleLink]] = {}
        for link in VehicleLink.objects.filter(vehicle__in={v.pk for v in vehicles.values()}, ended_on__isnull=True):
            current.setdefault(link.vehicle_id, []).append(link)
        new: list[VehicleLink] = []
        ended: list[VehicleLink] = []
        for row in rows:
            vehicle = vehicles.get(row.line)
            if vehicle is None:
                continue
            links = current.setdefault(vehicle.pk, [])
            parties: list[tuple[str, Company | Person]] = []
            if row.line in companies:
                parties.append(("company", companies[row.line]))
            if row.has_person:
                parties.append(("person", refs[row.line].person))
            for field_name, holder in parties:
                if any(getattr(link, f"{field_name}_id") == holder.pk for link in links):
                    continue
                owner = next((link for link in links if link.kind == VehicleLink.Kind.OWNER), None)
                bought = row.vehicle.get("purchase_date")
                if owner is None:
                    kind, started = VehicleLink.Kind.OWNER, bought
                elif self.job.kind == ImportKind.SALES and bought and (owner.started_on is None
                                                                        or bought > owner.started_on):
                    owner.ended_on = bought
                    links.remove(owner)
                    if owner.pk:
                        ended.append(owner)
                    kind, started = VehicleLink.Kind.OWNER, bought
                else:
                    kind, started = VehicleLink.Kind.USER, row.visit.get("visit_date") or bought
                link = VehicleLink(vehicle=vehicle, kind=kind, started_on=started, **{field_name: holder})
                links.append(link)
                new.append(link)
        copy_update(ended, ["ended_on"])
        self.writer.create(new)  # including any this chunk already ended: history is kept

    def _company_contacts_save(self, rows: list[Parsed], refs: dict[int, Ref], companies: dict[int, Company],
                               vehicles: dict[int, Vehicle]) -> None:
        """A person on a company's row uses its car: recorded in that role, tied to the car."""
        pairs = {(companies[row.line].pk, refs[row.line].person.pk) for row in rows if row.line in companies}
        if not pairs:
            return
        contacts = {(c.company_id, c.person_id): c for c in CompanyContact.objects.filter(
            company_id__in={pair[0] for pair in pairs}, person_id__in={pair[1] for pair in pairs},
            role=CompanyRole.USER, ended_on__isnull=True)}
        missing = [CompanyContact(company_id=company, person_id=person, role=CompanyRole.USER, started_on=self.today)
                   for company, person in pairs if (company, person) not in contacts]
        self.writer.create(missing)
        for contact in missing:
            contacts[contact.company_id, contact.person_id] = contact
        Through = CompanyContact.vehicles.through
        self.writer.create([
            Through(companycontact_id=contacts[companies[row.line].pk, refs[row.line].person.pk].pk,
                    vehicle_id=vehicles[row.line].pk)
            for row in rows if row.line in companies and row.line in vehicles
        ], ignore_conflicts=True)

    def _history_save(self, rows: list[Parsed], refs: dict[int, Ref], vehicles: dict[int, Vehicle]) -> None:
        readings: list[MileageReading] = []
        entries: list[TimelineEntry] = []
        visits: list[dict[str, Any]] = []
        for row in rows:
            vehicle = vehicles.get(row.line)
            visited, bought = row.visit.get("visit_date"), row.vehicle.get("purchase_date")
            if vehicle is not None and row.mileage is not None:
                readings.append(MileageReading(vehicle=vehicle, kilometres=row.mileage,
                                               read_on=visited or bought or self.today, source=SYSTEM))
            person = refs[row.line].person if row.has_person else None
            order = row.visit.get("order_number", "")
            ref = (f"{SYSTEM}:order:{order}" if order
                   else f"{SYSTEM}:visit:{row.vehicle_key or (person.pk if person else row.line)}:{visited}")
            if self.job.kind == ImportKind.SERVICE and visited and vehicle is not None:
                self.row_orders[row.line] = ref
                visits.append({"source_ref": ref, "vehicle_id": vehicle.pk, "person_id": person.pk if person else None,
                               "rooftop_id": row.person.get("rooftop") or (person.rooftop_id if person else None),
                               "visited": visited, "order_number": order, "mileage": row.mileage,
                               "amount": row.visit.get("amount"), "work": row.visit.get("work", ""),
                               "advisor": row.visit.get("advisor", ""), "lines": row.visit.get("lines", []),
                               "declined": row.visit.get("declined", [])})
            if person is None:
                continue  # a company's car: its readings and repair orders are kept; the timeline is a person's
            if self.job.kind == ImportKind.SALES and vehicle is not None and bought:
                entries.append(timeline_event(
                    "bought", {"vehicle": str(vehicle), **self._amount(row)}, kind=TimelineEntry.Kind.PURCHASE,
                    person=person, occurred_at=day_noon(bought), rooftop_id=person.rooftop_id,
                    source_ref=f"{SYSTEM}:sale:{row.vehicle_key or vehicle.pk}:{bought}",
                ))
            if self.job.kind == ImportKind.SERVICE and visited:
                data = {"order": order, "work": [row.visit["work"]] if row.visit.get("work") else [],
                        **self._amount(row), "km": row.mileage, "vehicle": str(vehicle) if vehicle else ""}
                entries.append(timeline_event("visit", data, kind=TimelineEntry.Kind.VISIT, person=person,
                                              occurred_at=day_noon(visited), rooftop_id=person.rooftop_id,
                                              source_ref=ref))
        self.writer.create(readings, ignore_conflicts=True)
        self.writer.create(entries, ignore_conflicts=True)
        if visits:
            visits_imported.send(sender=Importer, rows=visits)

    def _amount(self, row: Parsed) -> dict[str, Any]:
        amount = row.visit.get("amount")
        return {"amount": str(amount), "currency": self.currency} if amount is not None else {}


def _names_disagree(person: Person, row: Parsed) -> bool:
    """The record and the row both name someone, and not one name part of theirs agrees in any spelling:
    a DMS number shared by a fleet's drivers or a family's members, not a second record of one person
    (a married name or a typo keeps the other part)."""
    known = set(normalize.name_fold_tokens(person.family_name, person.given_name))
    said = set(normalize.name_fold_tokens(row.person.get("family_name", ""), row.person.get("given_name", "")))
    return bool(known and said and not known & said)


def _han(row: Parsed) -> str:
    return normalize.han_written(row.person.get("family_name", ""), row.person.get("given_name", ""))


def _person_number(row: Parsed) -> str:
    """The DMS number that identifies the row's person; on a company's row it is the company's."""
    return "" if row.company else row.customer_number


class _SideChannel:
    """Progress of a dry run, written on a separate connection that commits at once.

    The dry run's own transaction is rolled back at the end, so nothing it writes is ever
    visible; the job page still needs to see how far it got.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job, self.schema = job, connection.schema_name
        self.raw: Any = None

    def __enter__(self) -> "_SideChannel":
        # Connected directly, never from the connection pool (config/dbpool.py): a pooled connection closed
        # here would never go back to its pool, and a few dry runs would leave the worker without connections.
        self.raw = connection.Database.connect(**connection.get_connection_params())
        self.raw.autocommit = True
        return self

    def report(self, processed: int) -> None:
        query = sql.SQL("UPDATE {}.customers_importjob SET processed_rows = %s WHERE id = %s").format(
            sql.Identifier(self.schema))
        self.raw.execute(query, [processed, self.job.pk])

    def __exit__(self, *exc: object) -> None:
        self.raw.close()
