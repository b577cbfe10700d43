"""Screens of the DMS import: upload, map columns with a preview, dry run or import, follow, report."""

from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from crm.core.access import staff_required
from crm.core.parsing import id_from

from .exports import csv_lines, import_problems_allowed, import_problems_export_record
from .forms import ImportMappingForm, ImportUploadForm
from .importing import files
from .importing.jobs import job_create, job_preview, job_start, profile_save
from .models import ImportedRow, ImportJob, ImportProblem, ImportProfile
from .privacy_views import export_refused

# Who may load files into the customer database: it touches every record.
IMPORTERS = (StaffRole.DEALER_ADMIN, StaffRole.SALES_MANAGER, StaffRole.SERVICE_MANAGER)


@staff_required(*IMPORTERS)
def import_list(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = job_create(by=request.user, name=upload.name, data=upload.read(), kind=form.cleaned_data["kind"],
                             encoding=form.cleaned_data["encoding"], profile=form.cleaned_data["profile"])
        except ValidationError as error:
            form.add_error("file", error)
        else:
            if job.profile and not form.cleaned_data["profile"]:
                messages.info(request, _("The columns match the saved mapping “%(name)s”: it has been applied. "
                                         "Check it below before you import.") % {"name": job.profile})
            return redirect("customers:import_detail", pk=job.pk)
    jobs = Paginator(ImportJob.objects.select_related("created_by", "profile"), 20).get_page(request.GET.get("page"))
    return render(request, "customers/imports/list.html", {
        "form": form, "page": jobs, "profiles": ImportProfile.objects.all(), "active_module": "customers",
    })


@staff_required(*IMPORTERS)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by", "profile"), pk=pk)
    editable = not job.is_active and not (job.status == ImportJob.Status.DONE and not job.dry_run)
    form = ImportMappingForm(request.POST or None, job=job) if editable else None
    if form is not None and request.method == "POST" and form.is_valid():
        job.mapping, job.date_format = form.mapping(), form.cleaned_data["date_format"]
        job.save(update_fields=["mapping", "date_format"])
        if form.cleaned_data["profile_name"] and request.POST.get("save_profile"):
            profile = profile_save(job=job, name=form.cleaned_data["profile_name"], by=request.user)
            messages.success(request, _("Mapping saved as “%(name)s”.") % {"name": profile})
        action = request.POST.get("action")
        if action in ("dry_run", "import"):
            try:
                job_start(job=job, dry_run=action == "dry_run")
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.info(request, _("Dry run started: nothing will be saved.") if action == "dry_run"
                              else _("Import started. You can leave this page; it goes on."))
        return redirect("customers:import_detail", pk=job.pk)
    preview, preview_error = [], ""
    if editable and job.file:
        try:
            preview = job_preview(job)
        except files.FileUnreadable as error:
            preview_error = str(error)
    return render(request, "customers/imports/detail.html", {
        "job": job, "form": form, "preview": preview, "preview_error": preview_error,
        "problems": job.problems.filter(severity=ImportProblem.Severity.REJECTED)[:20],
        "warnings": job.problems.filter(severity=ImportProblem.Severity.WARNING)[:20],
        "warnings_count": job.problems.filter(severity=ImportProblem.Severity.WARNING).count(),
        "active_module": "customers",
        "can_download_problems": import_problems_allowed(request.user, job),
    })


@staff_required(*IMPORTERS)
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, polled by the job page while the import runs."""
    job = get_object_or_404(ImportJob, pk=pk)
    response = render(request, "customers/imports/progress.html", {"job": job})
    if not job.is_active and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # finished: show the whole result page
    return response


@require_POST
@staff_required(*IMPORTERS)
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk, status=ImportJob.Status.FAILED, dry_run=False)
    try:
        job_start(job=job, dry_run=False, resume=True)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("customers:import_detail", pk=job.pk)


@staff_required(*IMPORTERS)
def import_problems(request: HttpRequest, pk: int, severity: str = ImportProblem.Severity.REJECTED) -> HttpResponse:
    """The rejected rows (or the rows with values to check) as a CSV the dealer can fix and import again:
    the file's own columns, then the line, the column and the reason. Customer rows leaving the building:
    for whoever started the import and whoever may download customer lists (403 with the reason for
    anyone else), each download audited first."""
    job = get_object_or_404(ImportJob, pk=pk)
    if not import_problems_allowed(request.user, job):
        return export_refused(request)
    problems = job.problems.filter(severity=severity)
    import_problems_export_record(by=request.user, job=job, rows=problems.count())

    def rows() -> Iterator[list[str]]:
        for problem in problems.iterator(chunk_size=2000):
            values = problem.values + [""] * (len(job.header) - len(problem.values))
            yield [*values, str(problem.line), problem.column, problem.reason]

    response = StreamingHttpResponse(csv_lines([*job.header, _("Line"), _("Column"), _("Problem")], rows()),
                                     content_type="text/csv; charset=utf-8")
    name = "rejected-rows" if severity == ImportProblem.Severity.REJECTED else "values-to-check"
    response["Content-Disposition"] = f'attachment; filename="{name}-{job.pk}.csv"'
    return response


@staff_required(*IMPORTERS)
def import_rows(request: HttpRequest, pk: int) -> HttpResponse:
    """Where each line of the file went: its outcome and the customer, company, car and repair order."""
    job = get_object_or_404(ImportJob, pk=pk)
    rows = (ImportedRow.objects.filter(job=job).select_related("person", "company", "vehicle")
            .order_by("line", "pk"))
    line = id_from(request.GET.get("line"))
    if line:
        rows = rows.filter(line__gte=line)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    labels = {
        "created": _("new customer"),
        "updated": _("updated: known DMS number or company"),
        "merged": _("matched to a customer in the CRM"),
    }
    for row in page:
        row.outcome_label = labels.get(row.outcome, "")
    return render(request, "customers/imports/rows.html", {
        "job": job, "page": page, "line": line or "", "active_module": "customers",
    })


@require_POST
@staff_required(*IMPORTERS)
def import_profile_delete(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(ImportProfile, pk=pk)
    profile.delete()
    messages.success(request, _("Profile “%(name)s” deleted.") % {"name": profile})
    return redirect("customers:imports")
