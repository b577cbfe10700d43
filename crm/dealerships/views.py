"""The dealer group's structure: rooftops with opening hours, staff and roles. Dealer admins only."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from crm.core.access import staff_required
from crm.core.limits import rooftop_limit_reached, seat_limit_reached
from crm.core.services import staff_user_create

from .forms import OpeningHoursForm, RooftopForm, StaffCreateForm, StaffEditForm
from .models import OpeningHours, Rooftop

admin_only = staff_required(StaffRole.DEALER_ADMIN)


@admin_only
def rooftop_list(request: HttpRequest) -> HttpResponse:
    rooftops = Rooftop.objects.prefetch_related(Prefetch("opening_hours", queryset=OpeningHours.objects.all()))
    return render(request, "dealerships/rooftops.html", {"rooftops": rooftops, "active_module": "settings"})


@admin_only
def rooftop_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rooftop = get_object_or_404(Rooftop, pk=pk) if pk else None
    form = RooftopForm(request.POST or None, instance=rooftop)
    hours = OpeningHoursForm(request.POST or None, rooftop=rooftop)
    limit = None if rooftop else rooftop_limit_reached()
    if request.method == "POST" and not limit and form.is_valid() and hours.is_valid():
        with transaction.atomic():
            saved = form.save()
            hours.save(saved)
        messages.success(request, _("Rooftop %(name)s saved.") % {"name": saved})
        return redirect("settings:rooftops")
    return render(request, "dealerships/rooftop_form.html", status=403 if limit and request.method == "POST" else 200,
                  context={"form": form, "hours": hours, "rooftop": rooftop, "limit": limit,
                           "active_module": "settings"})


@admin_only
def staff_list(request: HttpRequest) -> HttpResponse:
    staff = User.objects.exclude(role="").order_by("-is_active", "last_name", "first_name", "email")
    return render(request, "dealerships/staff.html", {"staff": staff, "active_module": "settings"})


@admin_only
def staff_create(request: HttpRequest) -> HttpResponse:
    form = StaffCreateForm(request.POST or None)
    limit = seat_limit_reached()
    if request.method == "POST" and not limit and form.is_valid():
        user = staff_user_create(preferred_language=request.tenant.default_language, **form.cleaned_data)
        messages.success(request, _("%(name)s can now sign in.") % {"name": user})
        return redirect("settings:staff")
    return render(request, "dealerships/staff_form.html", status=403 if limit and request.method == "POST" else 200,
                  context={"form": form, "limit": limit, "active_module": "settings"})


@admin_only
def staff_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(User.objects.exclude(role=""), pk=pk)
    was_active = member.is_active  # the form writes the posted value onto member when it validates
    form = StaffEditForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        if member == request.user and (form.cleaned_data["role"] != StaffRole.DEALER_ADMIN
                                       or not form.cleaned_data["is_active"]):
            form.add_error(None, _("You cannot take away your own admin rights; ask another dealer admin."))
        elif form.cleaned_data["is_active"] and not was_active and (limit := seat_limit_reached()):
            form.add_error(None, limit)
        else:
            form.save()
            messages.success(request, _("Saved."))
            return redirect("settings:staff")
    return render(request, "dealerships/staff_form.html",
                  {"form": form, "member": member, "active_module": "settings"})
