"""Automation screens (CRM): the rules with what each has done, editing them; and the task list where
every colleague finds the calls automations gave them or their role."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from crm.core.access import staff_required
from crm.sales.calllists import BUILDERS

from . import automations
from .automation_forms import AutomationForm, TaskDoneForm
from .models import Automation, AutomationRun

PAGE_SIZE = 50
ALL_STAFF = tuple(StaffRole.values)


def _page(request: HttpRequest, template: str, context: dict, status: int = 200, module: str = "marketing",
          ) -> HttpResponse:
    return render(request, template, {"active_module": module, **context}, status=status)


def _figures() -> dict:
    return {status: Count("runs", filter=Q(runs__status=status)) for status in AutomationRun.Status.values}


@staff_required(*BUILDERS)
def automation_list(request: HttpRequest) -> HttpResponse:
    rows = Automation.objects.select_related("template").annotate(**_figures())
    return _page(request, "marketing/automations.html", {"automations": rows})


@staff_required(*BUILDERS)
def automation_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    instance = get_object_or_404(Automation, pk=pk) if pk else Automation()
    form = AutomationForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            automation = automations.automation_save(automation=form.save(commit=False), by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Automation saved."))
            return redirect("marketing:automation_detail", pk=automation.pk)
    return _page(request, "marketing/automation_form.html", {"form": form, "automation": instance},
                 status=400 if form.errors else 200)


@staff_required(*BUILDERS)
def automation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    automation = get_object_or_404(Automation.objects.select_related("template").annotate(**_figures()), pk=pk)
    runs = (AutomationRun.objects.filter(automation=automation).select_related("person", "assigned_to", "message")
            .order_by("-due_on", "-pk"))
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "marketing/automation_detail.html", {"automation": automation, "page": page,
                                                               "statuses": AutomationRun.Status.choices})


@require_POST
@staff_required(*BUILDERS)
def automation_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    automation = get_object_or_404(Automation, pk=pk)
    automation.is_active = not automation.is_active
    automations.automation_save(automation=automation, by=request.user)
    messages.success(request, _("Automation switched on: it counts what happens from today.") if automation.is_active
                     else _("Automation switched off."))
    return redirect("marketing:automation_detail", pk=pk)


# --- Tasks --------------------------------------------------------------------------------------------

@staff_required(*ALL_STAFF)
def task_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(automations.tasks_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "marketing/tasks.html", {"page": page, "today": timezone.localdate()}, module="tasks")


def _task(request: HttpRequest, pk: int) -> AutomationRun:
    """An open task this colleague may act on (the same rule as the list), else 404."""
    run = automations.tasks_for(request.user).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


@require_POST
@staff_required(*ALL_STAFF)
def task_take(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        automations.task_take(run=_task(request, pk), by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("tasks:list")


@require_POST
@staff_required(*ALL_STAFF)
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    run = _task(request, pk)
    form = TaskDoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say how it went."))
        return redirect("tasks:list")
    try:
        automations.task_done(run=run, by=request.user, outcome=form.cleaned_data["outcome"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Done: it is on the customer's timeline."))
    return redirect("tasks:list")
