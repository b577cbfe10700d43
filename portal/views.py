"""The owner portal's own pages (/my/): the garage and claiming a car. Signed-in owners only; each sees
their own cars and claims, and gets 404 for anyone else's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import ClaimForm, CodeForm
from .models import VehicleClaim


@login_required
def garage(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/garage.html", {"cars": selectors.garage(request.user),
                                                  "linked": hasattr(request.user, "customer_link")})


@login_required
def claim_start(request: HttpRequest) -> HttpResponse:
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claim = services.claim_start(user=request.user, vin=form.cleaned_data["vin"])
        except ValidationError as error:
            form.add_error("vin", error)
        else:
            return redirect("portal:claim_confirm", pk=claim.pk)
    return render(request, "portal/claim.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def claim_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(VehicleClaim.objects.select_related("vehicle"), pk=pk, user=request.user)
    if claim.confirmed_at is not None:
        return redirect("portal:garage")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.claim_confirm(claim=claim, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            messages.success(request, _("Your %(car)s is in your garage now.") % {"car": claim.vehicle})
            return redirect("portal:garage")
    expired = claim.expires_at <= timezone.now()
    return render(request, "portal/claim_code.html", {"form": form, "claim": claim, "expired": expired},
                  status=400 if form.errors else 200)


@require_POST
@login_required
def claim_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """A new code for the same car (the old one stops counting)."""
    claim = get_object_or_404(VehicleClaim.objects.select_related("vehicle"), pk=pk, user=request.user,
                              confirmed_at__isnull=True)
    try:
        again = services.claim_start(user=request.user, vin=claim.vehicle.vin)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("portal:claim_confirm", pk=pk)
    VehicleClaim.objects.filter(pk=claim.pk).update(expires_at=timezone.now())
    return redirect("portal:claim_confirm", pk=again.pk)
