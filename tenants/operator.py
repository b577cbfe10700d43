"""The operator console for the platform's own staff (/operator/ on the platform's host): every dealer
group with status, plan, MRR, usage and last activity, and suspending or reactivating one through the
billing services. Usage comes from the KPI snapshots; no tenant schema is read here."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_tenants.utils import get_public_schema_name

from .billing.account import operator_reactivate, operator_suspend
from .models import DealerGroup, DealerGroupStatus, KpiSnapshot, SnapshotPeriod


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The platform's staff (``is_staff`` users of the platform's host) only."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if connection.schema_name != get_public_schema_name():
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@operator_required
def console(request: HttpRequest) -> HttpResponse:
    latest = KpiSnapshot.objects.filter(dealer_group=OuterRef("pk"), period=SnapshotPeriod.MONTH,
                                        rooftop_id__isnull=True).order_by("-period_start")
    groups = (DealerGroup.objects.select_related("plan")
              .annotate(customers=Subquery(latest.values("customers")[:1]),
                        visits=Subquery(latest.values("visits")[:1]))
              .order_by("name"))
    status = request.GET.get("status", "")
    if status in DealerGroupStatus.values:
        groups = groups.filter(status=status)
    rows = list(groups)
    totals: dict[str, int] = {}
    for group in rows:
        if group.mrr_cents:
            totals[group.plan.currency] = totals.get(group.plan.currency, 0) + group.mrr_cents
    return render(request, "tenants/operator.html", {
        "groups": rows, "status": status, "statuses": DealerGroupStatus.choices,
        "mrr_totals": sorted((currency, cents / 100) for currency, cents in totals.items())})


@require_POST
@operator_required
def suspend(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, operator_suspend)


@require_POST
@operator_required
def reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, operator_reactivate)


def _act(request: HttpRequest, pk: int, action: Callable[[DealerGroup], str]) -> HttpResponse:
    group = get_object_or_404(DealerGroup, pk=pk)
    try:
        messages.success(request, action(group))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("operator_console")
