"""A dealer group's own data as a ZIP of CSV files, for its dealer admin: "Download your data" on the billing page,
above all before a cancelled group's data is deleted (``BILLING_RETENTION_DAYS`` after the suspension).

Built in a Celery task (bulk queue) inside the group's schema and written to the group's own storage
(``MEDIA_ROOT/<schema>/exports/``, which the media view never serves). Fetched only on the group's own host, by a
dealer admin, through a link signed for the schema (``accounts.tenant_signing``): a link from another group's page
is a bad signature here, and another group's export is not found here either. Each new download replaces the last.

The files: one per customer-facing table (``TABLES``, listed in platform/README.md), one row per record, the columns
headed with the fields' names in the group's language; ids join the files.
"""

import csv
import io
import json
import logging
import secrets
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from accounts import tenant_signing
from config.celery import enqueue_on_commit

from ..models import BillingEmail, DataExport, DealerGroup

log = logging.getLogger(__name__)

# (file in the ZIP, model): what a dealer group's customers and its work with them are.
TABLES = (
    ("people.csv", "customers.Person"),
    ("phones.csv", "customers.Phone"),
    ("emails.csv", "customers.Email"),
    ("households.csv", "customers.Household"),
    ("companies.csv", "customers.Company"),
    ("company_contacts.csv", "customers.CompanyContact"),
    ("vehicles.csv", "customers.Vehicle"),
    ("vehicle_links.csv", "customers.VehicleLink"),
    ("mileage_readings.csv", "customers.MileageReading"),
    ("consents.csv", "customers.Consent"),
    ("timeline.csv", "customers.TimelineEntry"),
    ("prospects.csv", "sales.Prospect"),
    ("sales_contacts.csv", "sales.Contact"),
    ("opportunities.csv", "sales.Opportunity"),
    ("test_drives.csv", "sales.TestDrive"),
    ("service_visits.csv", "service.ServiceVisit"),
    ("job_lines.csv", "service.JobLine"),
    ("declined_work.csv", "service.DeclinedRecommendation"),
    ("appointments.csv", "service.Appointment"),
    ("club_members.csv", "loyalty.Membership"),
    ("club_points.csv", "loyalty.PointsEntry"),
    ("vouchers.csv", "loyalty.Voucher"),
    ("survey_answers.csv", "surveys.Answer"),
    ("rooftops.csv", "dealerships.Rooftop"),
    ("staff.csv", "accounts.User"),
)
# Never in a file: secrets and hashes, and what the CRM derives for its own search.
LEFT_OUT = {"password", "secret", "token", "name_key", "name_fold", "name_tokens", "search_text"}
PURPOSE = "data-export"
LINK_DAYS = 7
FOLDER = "exports/"

def _fields(model: type[models.Model]) -> list[models.Field]:
    return [field for field in model._meta.concrete_fields
            if field.name not in LEFT_OUT and not field.name.endswith(("_hash", "_secret"))]


def _header(field: models.Field) -> str:
    if field.is_relation:
        return f"{capfirst(field.verbose_name)} (ID)"
    return str(capfirst(field.verbose_name))


def _cell(obj: models.Model, field: models.Field) -> object:
    value = field.value_from_object(obj)
    if value is None:
        return ""
    if field.choices and not field.is_relation:
        return getattr(obj, f"get_{field.attname}_display")()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bool | int | float | Decimal):
        return value
    return _formula_safe(str(value))


def _formula_safe(value: str) -> str:
    """A cell a spreadsheet would run as a formula is made text (as the CRM's own exports do)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _rows(model: type[models.Model], fields: list[models.Field]) -> Iterator[list[object]]:
    for obj in model._default_manager.order_by("pk").iterator(chunk_size=2000):
        yield [_cell(obj, field) for field in fields]


def zip_write(target: Any) -> dict[str, int]:
    """Write the ZIP of the current schema's tables to ``target`` (a binary file); rows per file."""
    counts = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, label in TABLES:
            model = apps.get_model(label)
            fields = _fields(model)
            with archive.open(name, "w") as member, io.TextIOWrapper(member, encoding="utf-8-sig",
                                                                     newline="") as text:
                writer = csv.writer(text)
                writer.writerow([_header(field) for field in fields])
                counts[name] = 0
                for row in _rows(model, fields):
                    writer.writerow(row)
                    counts[name] += 1
    return counts


# --- the admin's requests -------------------------------------------------------------------------


def latest(group: DealerGroup) -> DataExport | None:
    return DataExport.objects.filter(dealer_group=group).first()


def request_build(group: DealerGroup, *, by: str) -> DataExport:
    """Start a new download; one at a time per group. Sent to the worker when the request commits."""
    from .tasks import data_export_build

    try:
        with transaction.atomic():
            export = DataExport.objects.create(dealer_group=group, requested_by=by, requested_at=timezone.now())
    except IntegrityError as error:
        raise ValidationError(_("Your data is being prepared already. This page shows the link when it is ready."),
                              code="building") from error
    enqueue_on_commit(data_export_build, export.pk)
    return export


def link_token(export: DataExport) -> str:
    """The download link's token: the export's id, signed for this schema (the host names the group too)."""
    return tenant_signing.dumps(export.pk, purpose=PURPOSE)


def by_token(group: DealerGroup, token: str) -> DataExport | None:
    """The group's ready export the token names, or None: altered, expired, another group's, or replaced."""
    try:
        pk = tenant_signing.loads(token, purpose=PURPOSE, max_age=LINK_DAYS * 86400)
    except tenant_signing.BadSignature:
        return None
    return DataExport.objects.filter(pk=pk, dealer_group=group, state=DataExport.State.READY).first()


# --- the worker -----------------------------------------------------------------------------------


def build(export_id: int) -> str:
    """Write the ZIP into the group's storage and mark the export ready (or failed), then tell the admins.
    Runs in the group's schema; the earlier download's file is deleted once the new one is there."""
    export = DataExport.objects.select_related("dealer_group").filter(pk=export_id).first()
    if export is None or export.state != DataExport.State.BUILDING:
        return "nothing to do"
    group = export.dealer_group
    if connection.schema_name != group.schema_name:
        raise RuntimeError(f"data export {export_id} of {group.schema_name} run in {connection.schema_name}")
    try:
        with tempfile.TemporaryFile() as buffer, translation.override(group.default_language):
            zip_write(buffer)
            buffer.seek(0)
            name = default_storage.save(f"{FOLDER}{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(16)}.zip",
                                        File(buffer))
    except Exception:
        log.exception("data export %s of %s failed", export_id, group.slug)
        DataExport.objects.filter(pk=export_id).update(state=DataExport.State.FAILED, finished_at=timezone.now())
        return "failed"
    earlier = list(DataExport.objects.filter(dealer_group=group).exclude(pk=export_id).exclude(file=""))
    with transaction.atomic():
        DataExport.objects.filter(pk=export_id).update(state=DataExport.State.READY, file=name,
                                                       size=default_storage.size(name), finished_at=timezone.now())
        DataExport.objects.filter(pk__in=[e.pk for e in earlier]).delete()
        from .services import email_send_later

        email_send_later(group, BillingEmail.Kind.DATA_EXPORT_READY, str(export_id))
    for old in earlier:
        default_storage.delete(old.file)
    return "ready"
