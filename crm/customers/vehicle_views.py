"""The car's page: its details, who owned, used or drove it and when, and its mileage history."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.core.access import staff_required

from . import vehicles
from .forms import MileageForm, VehicleForm
from .models import Vehicle


def _vehicle(pk: int) -> Vehicle:
    return get_object_or_404(Vehicle.objects.select_related("selling_rooftop", "salesperson"), pk=pk)


def _page(request: HttpRequest, vehicle: Vehicle, *, mileage_form: MileageForm | None = None,
          status: int = 200) -> HttpResponse:
    return render(request, "customers/vehicles/detail.html", status=status, context={
        "view": vehicles.vehicle_view(vehicle), "vehicle": vehicle, "active_module": "customers",
        "mileage_form": mileage_form or MileageForm(initial={"read_on": timezone.localdate()}),
    })


@staff_required()
def vehicle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _vehicle(pk))


@staff_required()
def vehicle_edit(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = _vehicle(pk)
    form = VehicleForm(request.POST or None, instance=Vehicle.objects.get(pk=vehicle.pk))
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        changed = vehicles.vehicle_update(vehicle=vehicle, by=request.user, fields=fields)
        messages.success(request, _("%(vehicle)s saved.") % {"vehicle": vehicle} if changed else _("Nothing changed."))
        return redirect("customers:vehicle_detail", pk=vehicle.pk)
    return render(request, "customers/vehicles/form.html", {"form": form, "vehicle": vehicle,
                                                            "active_module": "customers"})


@require_POST
@staff_required()
def mileage_create(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = _vehicle(pk)
    form = MileageForm(request.POST)
    if form.is_valid():
        try:
            vehicles.mileage_record(vehicle=vehicle, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Mileage recorded."))
            return redirect("customers:vehicle_detail", pk=vehicle.pk)
    return _page(request, vehicle, mileage_form=form, status=400)
