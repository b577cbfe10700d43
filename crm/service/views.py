"""Workshop screens: repair orders (list, open, lines, declined work, close) and the declined-work list."""


from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole, User
from crm.core.access import staff_required
from crm.core.parsing import day_from, id_from
from crm.dealerships.models import Rooftop

from . import services
from .forms import DeclinedForm, DeclinedStatusForm, JobLineForm, VisitForm
from .models import DeclinedRecommendation, ServiceVisit

# Who works on repair orders; every member of staff may read them (the customer's history).
WORKSHOP = (StaffRole.DEALER_ADMIN, StaffRole.SERVICE_MANAGER, StaffRole.SERVICE_ADVISOR)
PAGE_SIZE = 25


def _visits(request: HttpRequest) -> tuple[QuerySet[ServiceVisit], dict[str, str]]:
    filters = {name: request.GET.get(name, "").strip() for name in ("rooftop", "advisor", "status", "repeat",
                                                                     "from", "to", "q")}
    visits = ServiceVisit.objects.select_related("vehicle", "person", "company", "rooftop", "advisor")
    if (rooftop_id := id_from(filters["rooftop"])) is not None:
        visits = visits.filter(rooftop_id=rooftop_id)
    if (advisor_id := id_from(filters["advisor"])) is not None:
        visits = visits.filter(advisor_id=advisor_id)
    if filters["status"] in ServiceVisit.Status.values:
        visits = visits.filter(status=filters["status"])
    if filters["repeat"] == "1":
        visits = visits.filter(repeat_of__isnull=False)
    if start := day_from(filters["from"]):
        visits = visits.filter(opened_on__gte=start)
    if end := day_from(filters["to"]):
        visits = visits.filter(opened_on__lte=end)
    if filters["q"]:
        vehicle = services.vehicle_find(filters["q"])
        visits = visits.filter(vehicle=vehicle) if vehicle else visits.filter(order_number=filters["q"])
    return visits, filters


@staff_required()
def visit_list(request: HttpRequest) -> HttpResponse:
    visits, filters = _visits(request)
    page = Paginator(visits, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "service/visits.html", {
        "page": page, "filters": filters, "rooftops": Rooftop.objects.all(), "active_module": "service",
        "advisors": User.objects.filter(role__in=[StaffRole.SERVICE_ADVISOR, StaffRole.SERVICE_MANAGER]),
        "statuses": ServiceVisit.Status.choices, "can_open": request.user.role in WORKSHOP})


@staff_required(*WORKSHOP)
def visit_create(request: HttpRequest) -> HttpResponse:
    form = VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.visit_open(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("opened_on", error)
        else:
            messages.success(request, _("Repair order opened for %(vehicle)s.") % {"vehicle": visit.vehicle})
            return redirect("service:visit_detail", pk=visit.pk)
    return render(request, "service/visit_form.html", {"form": form, "active_module": "service"},
                  status=400 if form.errors else 200)


def _visit(pk: int) -> ServiceVisit:
    return get_object_or_404(ServiceVisit.objects.select_related(
        "vehicle", "person", "company", "rooftop", "advisor", "repeat_of"), pk=pk)


def _detail(request: HttpRequest, visit: ServiceVisit, *, line_form: JobLineForm | None = None,
            declined_form: DeclinedForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "service/visit_detail.html", status=status, context={
        "visit": visit, "lines": list(visit.lines.all()), "declined": list(visit.declined.all()),
        "line_form": line_form or JobLineForm(), "declined_form": declined_form or DeclinedForm(),
        "can_edit": request.user.role in WORKSHOP, "active_module": "service"})


@staff_required()
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _visit(pk))


@require_POST
@staff_required(*WORKSHOP)
def line_create(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(pk)
    form = JobLineForm(request.POST)
    if form.is_valid():
        try:
            services.line_add(visit=visit, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("service:visit_detail", pk=visit.pk)
    return _detail(request, visit, line_form=form, status=400)


@require_POST
@staff_required(*WORKSHOP)
def declined_create(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(pk)
    form = DeclinedForm(request.POST)
    if form.is_valid():
        item = services.declined_add(visit=visit, by=request.user, **form.cleaned_data)
        messages.success(request, _("Declined work recorded; follow-up on %(date)s.")
                         % {"date": item.follow_up_on.isoformat()})
        return redirect("service:visit_detail", pk=visit.pk)
    return _detail(request, visit, declined_form=form, status=400)


@require_POST
@staff_required(*WORKSHOP)
def visit_close(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _visit(pk)
    try:
        visit = services.visit_close(visit=visit, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Repair order closed.") if not visit.repeat_of_id else _(
            "Repair order closed. It repeats a repair of %(date)s: please review it.")
            % {"date": visit.repeat_of.opened_on.isoformat()})
    return redirect("service:visit_detail", pk=visit.pk)


@staff_required()
def declined_list(request: HttpRequest) -> HttpResponse:
    """Declined work due for a follow-up call (overdue first), with its customer and car."""
    show_all = request.GET.get("all") == "1"
    items = DeclinedRecommendation.objects.filter(
        status__in=[DeclinedRecommendation.Status.OPEN, DeclinedRecommendation.Status.CONTACTED],
    ).select_related("vehicle", "person", "visit")
    if not show_all:
        items = items.filter(follow_up_on__lte=timezone.localdate())
    page = Paginator(items.order_by("follow_up_on", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "service/declined.html", {
        "page": page, "show_all": show_all, "status_form": DeclinedStatusForm(), "today": timezone.localdate(),
        "can_edit": request.user.role in WORKSHOP, "active_module": "service"})


@require_POST
@staff_required(*WORKSHOP)
def declined_status(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(DeclinedRecommendation, pk=pk)
    form = DeclinedStatusForm(request.POST)
    if form.is_valid():
        services.declined_update(item=item, by=request.user, **form.cleaned_data)
        messages.success(request, _("Saved."))
    else:
        messages.error(request, _("Choose a status."))
    return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/crm/") else
                    "service:declined")


@staff_required()
def reminder_tasks(request: HttpRequest) -> HttpResponse:
    """Reminder tasks: mine first (managers see everyone's), and how the messages went."""
    from .models import Reminder

    tasks = Reminder.objects.filter(status=Reminder.Status.TASK).select_related("person", "vehicle", "assigned_to")
    if request.user.role not in (StaffRole.DEALER_ADMIN, StaffRole.SERVICE_MANAGER, StaffRole.SALES_MANAGER):
        tasks = tasks.filter(assigned_to=request.user)
    page = Paginator(tasks.order_by("due_on", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "service/reminders.html", {"page": page, "active_module": "service"})


@require_POST
@staff_required()
def reminder_done(request: HttpRequest, pk: int) -> HttpResponse:
    from .models import Reminder

    reminder = get_object_or_404(Reminder, pk=pk, status=Reminder.Status.TASK)
    manager = request.user.role in (StaffRole.DEALER_ADMIN, StaffRole.SERVICE_MANAGER, StaffRole.SALES_MANAGER)
    if reminder.assigned_to_id != request.user.pk and not manager:
        return HttpResponse(status=403)
    reminder.status = Reminder.Status.DONE
    reminder.save(update_fields=["status"])
    messages.success(request, _("Done."))
    return redirect("service:reminders")


@staff_required(StaffRole.DEALER_ADMIN, StaffRole.SERVICE_MANAGER)
def reminder_rules(request: HttpRequest) -> HttpResponse:
    """Which reminders run, how far ahead, to whom; and the maintenance intervals by make and model."""
    from django.forms import modelformset_factory

    from .forms import HolidayForm, MaintenanceIntervalForm, ReminderRuleForm, TyreSeasonForm
    from .models import AUTOMATED_KINDS, Holiday, MaintenanceInterval, ReminderRule, TyreSeason

    # Edit only: a forged form count must not make rules (each kind exists once, made by migrations).
    Rules = modelformset_factory(ReminderRule, form=ReminderRuleForm, extra=0, edit_only=True)
    action = request.POST.get("action") if request.method == "POST" else None
    rules = Rules(request.POST if action == "rules" else None, prefix="rules",
                  queryset=ReminderRule.objects.exclude(kind__in=AUTOMATED_KINDS))
    interval_form = MaintenanceIntervalForm(request.POST if action == "interval" else None)
    if action == "rules" and rules.is_valid():
        rules.save()
        messages.success(request, _("Reminder rules saved."))
        return redirect("service:reminder_rules")
    if action == "interval" and interval_form.is_valid():
        MaintenanceInterval.objects.update_or_create(
            make=interval_form.cleaned_data["make"].strip(), model=interval_form.cleaned_data["model"].strip(),
            defaults={name: interval_form.cleaned_data[name] for name in ("every_km", "every_months")})
        messages.success(request, _("Interval saved."))
        return redirect("service:reminder_rules")
    season_form = TyreSeasonForm(request.POST if action == "season" else None)
    holiday_form = HolidayForm(request.POST if action == "holiday" else None)
    if action == "season" and season_form.is_valid():
        TyreSeason.objects.update_or_create(rooftop=season_form.cleaned_data["rooftop"], defaults={
            "autumn": season_form.cleaned_data["autumn"], "spring": season_form.cleaned_data["spring"]})
        messages.success(request, _("Tyre season saved."))
        return redirect("service:reminder_rules")
    if action == "holiday" and holiday_form.is_valid():
        Holiday.objects.create(**holiday_form.cleaned_data)
        messages.success(request, _("Holiday saved."))
        return redirect("service:reminder_rules")
    return render(request, "service/reminder_rules.html", {
        "rules": rules, "interval_form": interval_form, "intervals": MaintenanceInterval.objects.order_by(
            "make", "model"), "season_form": season_form, "holiday_form": holiday_form,
        "seasons": TyreSeason.objects.select_related("rooftop"), "holidays": Holiday.objects.all(),
        "active_module": "service"}, status=400 if request.method == "POST" else 200)
