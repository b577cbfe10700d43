"""The workshop calendar: a rooftop's day (or an advisor's), booking into a slot, appointment steps,
and the capacity settings that make the slots."""

import zoneinfo
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole, User
from crm.core.access import staff_required
from crm.core.parsing import day_from
from crm.dealerships.models import Rooftop

from . import booking
from .forms import AdvisorCapacityForm, AppointmentForm, CapacityRuleForm, ClosureForm, SlotsForm
from .models import DEFAULT_ADVISOR_APPOINTMENTS, AdvisorCapacity, Appointment, CapacityRule, Closure, Slot
from .services import holder_of
from .views import WORKSHOP

# Who books: the workshop, and the call centre taking calls for it.
BOOKERS = (*WORKSHOP, StaffRole.MARKETING)
PLANNERS = (StaffRole.DEALER_ADMIN, StaffRole.SERVICE_MANAGER)


def _day(text: str) -> date:
    day = day_from(text)
    return day if day is not None and date(2000, 1, 1) <= day <= date(2999, 12, 31) else timezone.localdate()


def _calendar_of(slot: Slot) -> HttpResponse:
    """Back to the calendar day a slot is on."""
    day = timezone.localtime(slot.starts_at).date().isoformat()
    return redirect(f"/crm/service/calendar/?rooftop={slot.rooftop_id}&day={day}")


@staff_required()
def calendar(request: HttpRequest) -> HttpResponse:
    rooftops = list(Rooftop.objects.all())
    chosen = request.GET.get("rooftop", "")
    rooftop = next((r for r in rooftops if str(r.pk) == chosen), rooftops[0] if rooftops else None)
    day = _day(request.GET.get("day", ""))
    advisors = list(User.objects.filter(is_active=True, role__in=[StaffRole.SERVICE_ADVISOR,
                                                                  StaffRole.SERVICE_MANAGER]))
    advisor = next((a for a in advisors if str(a.pk) == request.GET.get("advisor", "")), None)
    view = booking.calendar_day(rooftop, day, advisor=advisor) if rooftop else None
    for slot in view.slots if view else ():
        for appointment in slot.listed:
            moves = booking.TRANSITIONS.get(appointment.status, ())
            appointment.moves = [status for status in Appointment.Status if status in moves]
    return render(request, "service/calendar.html", {
        "rooftops": rooftops, "rooftop": rooftop, "day": day, "view": view, "advisors": advisors, "advisor": advisor,
        "previous": day - timedelta(days=1), "next": day + timedelta(days=1), "statuses": Appointment.Status,
        "can_book": request.user.role in BOOKERS, "can_plan": request.user.role in PLANNERS,
        "active_module": "service"})


@staff_required(*BOOKERS)
def appointment_create(request: HttpRequest, slot_pk: int) -> HttpResponse:
    slot = get_object_or_404(Slot.objects.select_related("rooftop"), pk=slot_pk)
    form = AppointmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        vehicle = form.cleaned_data["vehicle"]
        holder = holder_of(vehicle)
        try:
            appointment = booking.appointment_book(
                slot=slot, service_type=form.cleaned_data["service_type"], vehicle=vehicle,
                person=holder.person if holder else None, advisor=form.cleaned_data["advisor"],
                comment=form.cleaned_data["comment"], by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Booked: %(vehicle)s, %(service)s.") % {
                "vehicle": appointment.vehicle, "service": appointment.service_type})
            return _calendar_of(slot)
    return render(request, "service/appointment_form.html", {"form": form, "slot": slot, "active_module": "service"},
                  status=400 if form.errors else 200)


@require_POST
@staff_required(*BOOKERS)
def appointment_status(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_object_or_404(Appointment.objects.select_related("slot"), pk=pk)
    try:
        booking.appointment_move(appointment=appointment, status=request.POST.get("status", ""), by=request.user)
    except (ValidationError, ValueError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Saved."))
    return _calendar_of(appointment.slot)


@staff_required(*PLANNERS)
def capacity(request: HttpRequest) -> HttpResponse:
    """Per rooftop: what the workshop takes per service a day, closures, and the slots to offer."""
    rooftops = list(Rooftop.objects.all())
    rooftop = next((r for r in rooftops if str(r.pk) == request.GET.get("rooftop", "")),
                   rooftops[0] if rooftops else None)
    if rooftop is None:
        messages.error(request, _("Add a rooftop in Settings first."))
        return redirect("service:visits")
    action = request.POST.get("action") if request.method == "POST" else None
    rule_form = CapacityRuleForm(request.POST if action == "rule" else None)
    closure_form = ClosureForm(request.POST if action == "closure" else None)
    slots_form = SlotsForm(request.POST if action == "slots" else None, initial={"start": timezone.localdate()})
    advisor_form = AdvisorCapacityForm(request.POST if action == "advisor" else None)
    if action == "advisor" and advisor_form.is_valid():
        AdvisorCapacity.objects.update_or_create(advisor=advisor_form.cleaned_data["advisor"], defaults={
            "appointments_per_day": advisor_form.cleaned_data["appointments_per_day"]})
        messages.success(request, _("Capacity saved."))
        return redirect(f"{request.path}?rooftop={rooftop.pk}")
    if action == "rule" and rule_form.is_valid():
        CapacityRule.objects.update_or_create(rooftop=rooftop, service_type=rule_form.cleaned_data["service_type"],
                                              defaults={name: rule_form.cleaned_data[name]
                                                        for name in ("daily_hours", "online_share")})
        messages.success(request, _("Capacity saved."))
        return redirect(f"{request.path}?rooftop={rooftop.pk}")
    if action == "closure" and closure_form.is_valid():
        try:
            Closure.objects.create(rooftop=rooftop, **closure_form.cleaned_data)
        except IntegrityError:
            closure_form.add_error("day", _("This day is already closed."))
        else:
            # Slots of the closed day (in the rooftop's own zone) go, unless an appointment refers to them.
            tz = zoneinfo.ZoneInfo(rooftop.timezone)
            start = datetime.combine(closure_form.cleaned_data["day"], datetime.min.time(), tzinfo=tz)
            Slot.objects.filter(rooftop=rooftop, starts_at__gte=start, starts_at__lt=start + timedelta(days=1),
                                appointments__isnull=True).delete()
            messages.success(request, _("Closure saved."))
            return redirect(f"{request.path}?rooftop={rooftop.pk}")
    if action == "slots" and slots_form.is_valid():
        made = booking.slots_generate(rooftop, **slots_form.cleaned_data)
        messages.success(request, _("%(count)d slots offered.") % {"count": made})
        return redirect(f"{request.path}?rooftop={rooftop.pk}")
    return render(request, "service/capacity.html", {
        "rooftops": rooftops, "rooftop": rooftop, "rules": CapacityRule.objects.filter(rooftop=rooftop)
        .select_related("service_type"), "closures": Closure.objects.filter(rooftop=rooftop,
                                                                           day__gte=timezone.localdate()),
        "rule_form": rule_form, "closure_form": closure_form, "slots_form": slots_form, "advisor_form": advisor_form,
        "advisor_limits": AdvisorCapacity.objects.select_related("advisor"),
        "advisor_default": DEFAULT_ADVISOR_APPOINTMENTS,
        "active_module": "service"}, status=400 if request.method == "POST" else 200)
