"""Import jobs: upload, column mapping, preview, start (dry or real), saved profiles."""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from config.celery import enqueue_on_commit

from ..models import DateFormat, ImportJob, ImportProfile
from ..services import tenant_language
from . import files
from .fields import BY_NAME, NAME_TARGETS, Parsed, _folded, date_format_guess, mapping_guess
from .pipeline import job_parser, job_table

MAX_BYTES = 50 * 1024 * 1024
_DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b")
SAMPLE_ROWS = 200


def job_create(*, by: User, name: str, data: bytes, kind: str, encoding: str = "auto",
               profile: ImportProfile | None = None) -> ImportJob:
    """Keep the upload and read its header; the mapping comes from the profile or from the column names."""
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The file is larger than 50 MB. Split it, or export fewer columns."))
    if not name.lower().endswith((".csv", ".txt", ".xlsx")):
        raise ValidationError(_("Upload a .csv or .xlsx file."))
    if profile is not None:
        kind, encoding = profile.kind, (profile.encoding if encoding == "auto" else encoding)
    try:
        table = files.table_open(name, data, encoding=encoding, language=tenant_language())
        sample = [row.values for _number, row in zip(range(SAMPLE_ROWS), table.rows, strict=False)]
    except files.FileUnreadable as error:
        raise ValidationError(str(error)) from error
    guess = mapping_guess(table.header, kind) if profile is None else {}
    matching = profile_matching(table.header, kind, at_least=len(guess)) if profile is None else None
    if matching is not None:
        profile, mapping = matching
    job = ImportJob(kind=kind, profile=profile, original_name=name[:255], size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(), encoding=encoding, header=table.header, created_by=by)
    if matching is not None:
        job.mapping, job.date_format = mapping, profile.date_format
    elif profile is not None:
        job.mapping = {target: column for target, column in profile.mapping.items() if column in table.header}
        job.date_format = profile.date_format
    else:
        job.mapping = guess
        # Every date-like cell of the sample votes, mapped or not yet: the dealer may map it next.
        values = [cell for row in sample for cell in row if isinstance(cell, str) and _DATE_LIKE.match(cell.strip())]
        job.date_format = date_format_guess(values, list(DateFormat.values)) or DateFormat.ISO
    job.file.save(f"{job.sha256[:16]}{'.xlsx' if files.is_xlsx(name, data) else '.csv'}", ContentFile(data),
                  save=False)
    job.save()
    return job


def profile_matching(header: list[str], kind: str, at_least: int = 1) -> tuple[ImportProfile, dict[str, str]] | None:
    """The saved profile for this kind of file whose mapped columns are all in the header (names compared
    without case and punctuation), with its mapping onto this header; of several, the one that maps the
    most columns, then the latest saved. A profile mapping fewer than ``at_least`` columns (what the
    names alone would map) does not fit: a profile of one "Name" column is not this file's. None when
    none fits: the columns are then guessed by name."""
    columns = {_folded(column): column for column in reversed(header)}
    fits = []
    for profile in ImportProfile.objects.filter(kind=kind).order_by("-updated_at", "-pk"):
        mapped = {target: column for target, column in profile.mapping.items() if column}
        if len(mapped) >= max(at_least, 1) and all(_folded(column) in columns for column in mapped.values()):
            fits.append((profile, {target: columns[_folded(column)] for target, column in mapped.items()}))
    return max(fits, key=lambda fit: len(fit[1]), default=None)


def mapping_problems(job: ImportJob, mapping: dict[str, str]) -> list[str]:
    """Why a mapping cannot run on this file: a name column is needed; every column must exist."""
    problems = [_("The file has no column “%(column)s” (mapped to %(field)s).")
                % {"column": column, "field": BY_NAME[target].label}
                for target, column in mapping.items() if column and column not in job.header]
    if not any(mapping.get(target) for target in NAME_TARGETS):
        problems.append(_("Map the customer's name: a full-name column, or family and given names."))
    return problems


@dataclass
class PreviewRow:
    line: int
    values: list[Any]
    parsed: Parsed | None
    problems: list[str]


def job_preview(job: ImportJob, limit: int = 10) -> list[PreviewRow]:
    """The first rows as the import would read them with the job's current mapping."""
    table = job_table(job)
    parser = job_parser(job, table.header)
    preview = []
    for _number, row in zip(range(limit), table.rows, strict=False):
        parsed, problems = parser.parse(row.line, row.values)
        if row.undecodable:
            parsed, problems = None, [_("The row contains bytes that are not text in this encoding.")]
        preview.append(PreviewRow(row.line, row.values, parsed, problems))
    return preview


@transaction.atomic
def job_start(*, job: ImportJob, dry_run: bool, resume: bool = False) -> None:
    """Queue a run. One run at a time per job; a finished real import cannot run again."""
    from ..tasks import import_run

    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.is_active:
        raise ValidationError(_("This import is already running."))
    if job.status == ImportJob.Status.DONE and not job.dry_run:
        raise ValidationError(_("This file has been imported. Upload it again to import it again."))
    if problems := mapping_problems(job, job.mapping):
        raise ValidationError(problems)
    job.status, job.dry_run = ImportJob.Status.QUEUED, dry_run
    job.save(update_fields=["status", "dry_run"])
    enqueue_on_commit(import_run, job.pk, resume=resume)


@transaction.atomic
def profile_save(*, job: ImportJob, name: str, by: User) -> ImportProfile:
    """Save (or overwrite, by name) the job's mapping as a profile for the next file from this DMS."""
    name = name.strip()
    if not name:
        raise ValidationError({"profile_name": _("Name the profile.")})
    profile, _created = ImportProfile.objects.update_or_create(name=name, defaults={
        "kind": job.kind, "mapping": job.mapping, "date_format": job.date_format, "encoding": job.encoding,
        "created_by": by,
    })
    job.profile = profile
    job.save(update_fields=["profile"])
    return profile
