"""Call-centre screens: the call lists with their progress, building one, sharing it out, the agent's next
call and its outcome."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm.core.access import staff_required
from crm.core.parsing import id_from
from crm.customers.models import ConsentChannel, VehicleLink
from crm.customers.selectors import consent_allows
from crm.marketing.segments import criteria_describe

from . import calllists
from .calllist_forms import AssignForm, CallListForm, CallOutcomeForm, ReassignForm
from .calllists import AGENTS, BUILDERS, CALL_ROLES
from .models import CallEntry, CallList, CallOutcome
from .services import open_prospect_of

PAGE_SIZE = 25


@staff_required(*CALL_ROLES)
def call_lists(request: HttpRequest) -> HttpResponse:
    page = Paginator(calllists.call_lists_progress(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(call_list, calllists.CallStats.read(call_list, "stat_")) for call_list in page.object_list]
    return render(request, "sales/calls/lists.html", {
        "page": page, "rows": rows, "can_build": calllists.is_builder(request.user),
        "can_call": request.user.role in AGENTS, "active_module": "sales"})


@staff_required(*BUILDERS)
def call_list_create(request: HttpRequest) -> HttpResponse:
    form = CallListForm(request.POST or None, initial={"saved_segment": request.GET.get("saved_segment")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            call_list = calllists.call_list_create(by=request.user, name=data["name"], purpose=data["purpose"],
                                                   script=data["script"], criteria=data["criteria"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            listed = call_list.entries.count()
            messages.success(request, ngettext(
                "%(count)s customer to call; %(excluded)s left out without phone consent.",
                "%(count)s customers to call; %(excluded)s left out without phone consent.", listed,
            ) % {"count": listed, "excluded": call_list.excluded_without_consent})
            return redirect("sales:call_list_detail", pk=call_list.pk)
    return render(request, "sales/calls/list_form.html", {"form": form, "active_module": "sales"},
                  status=400 if form.errors else 200)


def _detail(request: HttpRequest, call_list: CallList, *, assign_form: AssignForm | None = None,
            reassign_form: ReassignForm | None = None, status: int = 200) -> HttpResponse:
    builder = calllists.is_builder(request.user)
    total, per_agent = calllists.call_list_stats(call_list, agent=None if builder else request.user)
    entries = CallEntry.objects.filter(call_list=call_list).select_related("person", "agent")
    if not builder:
        entries = entries.filter(agent=request.user)
    shown_status = request.GET.get("status", "")
    if shown_status in CallEntry.Status.values:
        entries = entries.filter(status=shown_status)
    page = Paginator(entries.order_by("pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sales/calls/list_detail.html", status=status, context={
        "call_list": call_list, "total": total, "per_agent": per_agent, "page": page,
        "criteria": criteria_describe(call_list.criteria), "statuses": CallEntry.Status.choices,
        "shown_status": shown_status, "builder": builder, "can_call": request.user.role in AGENTS,
        "is_open": call_list.closed_at is None, "now": timezone.now(),
        "assign_form": assign_form or (AssignForm() if builder else None),
        "reassign_form": reassign_form or (ReassignForm() if builder else None), "active_module": "sales"})


@staff_required(*CALL_ROLES)
def call_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, calllists.call_list_for(request.user, pk))


@require_POST
@staff_required(*BUILDERS)
def call_list_assign(request: HttpRequest, pk: int) -> HttpResponse:
    call_list = calllists.call_list_for(request.user, pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            given = calllists.call_entries_assign(call_list=call_list, agents=list(form.cleaned_data["agents"]),
                                                  by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, ngettext("%(count)s call given out.", "%(count)s calls given out.", given)
                             % {"count": given})
            return redirect("sales:call_list_detail", pk=call_list.pk)
    return _detail(request, call_list, assign_form=form, status=400)


@require_POST
@staff_required(*BUILDERS)
def call_list_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    call_list = calllists.call_list_for(request.user, pk)
    form = ReassignForm(request.POST)
    if form.is_valid():
        try:
            moved = calllists.call_entries_reassign(call_list=call_list, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, ngettext("%(count)s open call passed on.", "%(count)s open calls passed on.",
                                               moved) % {"count": moved})
            return redirect("sales:call_list_detail", pk=call_list.pk)
    return _detail(request, call_list, reassign_form=form, status=400)


@require_POST
@staff_required(*BUILDERS)
def call_list_close(request: HttpRequest, pk: int) -> HttpResponse:
    call_list = calllists.call_list_for(request.user, pk)
    try:
        calllists.call_list_close(call_list=call_list, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The call list is closed: its calls no longer come up."))
    return redirect("sales:call_list_detail", pk=call_list.pk)


def _working_list(request: HttpRequest) -> CallList | None:
    """The list the agent is working through, when they chose one."""
    list_id = id_from(request.GET.get("list") or request.POST.get("list"))
    return calllists.call_list_for(request.user, list_id) if list_id is not None else None


def _next_url(call_list: CallList | None) -> str:
    url = reverse("sales:call_next")
    return f"{url}?{urlencode({'list': call_list.pk})}" if call_list else url


def _not_called(request: HttpRequest, entry: CallEntry) -> None:
    messages.warning(request, _(
        "%(customer)s was not called: they no longer agree to phone calls for %(purpose)s. The call is closed.")
        % {"customer": entry.person, "purpose": entry.call_list.get_purpose_display()})


@staff_required(*AGENTS)
def call_next(request: HttpRequest) -> HttpResponse:
    call_list = _working_list(request)
    entry, closed = calllists.call_next(agent=request.user, call_list=call_list)
    for gone in closed:
        _not_called(request, gone)
    if entry is not None:
        url = reverse("sales:call_entry", kwargs={"pk": entry.pk})
        return redirect(f"{url}?{urlencode({'list': call_list.pk})}" if call_list else url)
    return render(request, "sales/calls/next_empty.html", {
        "call_list": call_list, "call_back": calllists.next_call_back(request.user), "active_module": "sales"})


def _call_screen(request: HttpRequest, entry: CallEntry, *, form: CallOutcomeForm, working_list: CallList | None,
                 status: int = 200) -> HttpResponse:
    person = entry.person
    links = (VehicleLink.objects.filter(person=person, ended_on__isnull=True).select_related("vehicle")
             .order_by("-started_on", "-pk"))
    can_act = (entry.agent_id == request.user.pk and entry.status != CallEntry.Status.DONE
               and entry.call_list.closed_at is None)
    return render(request, "sales/calls/call.html", status=status, context={
        "entry": entry, "call_list": entry.call_list, "person": person, "phones": list(person.phones.all()),
        "vehicle_links": list(links), "prospect": open_prospect_of(person), "form": form, "can_act": can_act,
        "working_list": working_list,
        "call_back_value": CallOutcome.CALL_BACK, "active_module": "sales"})


@staff_required(*CALL_ROLES)
def call_entry(request: HttpRequest, pk: int) -> HttpResponse:
    entry = calllists.call_entry_for(request.user, pk)
    working_list = _working_list(request)
    if (entry.agent_id == request.user.pk and entry.status != CallEntry.Status.DONE
            and entry.call_list.closed_at is None
            and not consent_allows(entry.person, channel=ConsentChannel.PHONE, purpose=entry.call_list.purpose)):
        calllists.call_entry_close_without_consent(entry=entry)
        _not_called(request, entry)
        return redirect(_next_url(working_list))
    return _call_screen(request, entry, form=CallOutcomeForm(initial={"attempts_seen": entry.attempts}),
                        working_list=working_list)


@require_POST
@staff_required(*AGENTS)
def call_entry_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    entry = calllists.call_entry_for(request.user, pk, acting=True)
    working_list = _working_list(request)
    form = CallOutcomeForm(request.POST)
    if form.is_valid():
        try:
            result = calllists.call_outcome_record(entry=entry, by=request.user, **form.cleaned_data)
        except calllists.AlreadyRecorded:
            messages.info(request, _("This call was already recorded."))
            return redirect(_next_url(working_list))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _outcome_message(request, result)
            return redirect(_next_url(working_list))
    return _call_screen(request, entry, form=form, working_list=working_list, status=400)


def _outcome_message(request: HttpRequest, result: calllists.CallResult) -> None:
    entry = result.entry
    if result.held is not None:
        messages.warning(request, f"{result.held} " + _(
            "No second lead was registered; your note is on the customer's timeline."))
    elif result.prospect is not None:
        salesperson = result.prospect.salesperson
        messages.success(request, _("Lead passed to %(salesperson)s.") % {"salesperson": salesperson} if salesperson
                         else _("Lead registered; it waits for a salesperson to be assigned."))
    elif entry.outcome == CallOutcome.DO_NOT_CALL:
        messages.success(request, _("Recorded: %(customer)s is not to be called for %(purpose)s any more.") % {
            "customer": entry.person, "purpose": entry.call_list.get_purpose_display()})
    elif entry.outcome == CallOutcome.CALL_BACK:
        messages.success(request, _("Call-back on %(when)s.") % {
            "when": date_format(timezone.localtime(entry.call_back_at), "SHORT_DATETIME_FORMAT")})
    elif entry.outcome == CallOutcome.NO_ANSWER and entry.status != CallEntry.Status.DONE:
        messages.success(request, _("No answer: attempt %(attempt)s of %(max)s; the customer comes up again later.")
                         % {"attempt": entry.attempts, "max": calllists.MAX_ATTEMPTS})
    elif entry.outcome == CallOutcome.NO_ANSWER:
        messages.success(request, _("No answer after %(max)s attempts: the call is closed.")
                         % {"max": calllists.MAX_ATTEMPTS})
    else:
        messages.success(request, _("Saved."))
