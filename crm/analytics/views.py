"""Segments: the value x churn grid, car-age groups and the lost customers, each a list to act on."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from crm.core.access import staff_required

from .models import Action, CarAge, CustomerSegment, SegmentsRun
from .segments import segments_recompute

ANALYSTS = (StaffRole.DEALER_ADMIN, StaffRole.SALES_MANAGER, StaffRole.SERVICE_MANAGER, StaffRole.MARKETING)


@staff_required(*ANALYSTS)
def overview(request: HttpRequest) -> HttpResponse:
    counts = CustomerSegment.objects.aggregate(
        **{action.value: Count("pk", filter=Q(action=action.value)) for action in Action},
        **{f"age_{age.value}": Count("pk", filter=Q(car_age=age.value)) for age in CarAge},
        lost=Count("pk", filter=Q(lost=True)), total=Count("pk"))
    run = SegmentsRun.objects.first()
    counts["computed"] = run.computed_at if run else None
    return render(request, "analytics/segments.html", {
        "counts": counts, "actions": Action, "ages": CarAge, "active_module": "analytics"})


@staff_required(*ANALYSTS)
def customers(request: HttpRequest) -> HttpResponse:
    """The customers of one cell of the grid, one car-age group, or the lost: a list to call."""
    segments = CustomerSegment.objects.select_related("person")
    title = _("All customers")
    if (action := request.GET.get("action", "")) in Action.values:
        segments, title = segments.filter(action=action), Action(action).label
    elif (age := request.GET.get("car_age", "")) in CarAge.values:
        segments, title = segments.filter(car_age=age), CarAge(age).label
    elif request.GET.get("lost") == "1":
        segments, title = segments.filter(lost=True), _("Lost customers (no visit for 18 months)")
    page = Paginator(segments.order_by("-spend_3y", "person_id"), 50).get_page(request.GET.get("page"))
    return render(request, "analytics/segment_customers.html", {"page": page, "title": title,
                                                                "active_module": "analytics"})


@require_POST
@staff_required(*ANALYSTS)
def recompute(request: HttpRequest) -> HttpResponse:
    count = segments_recompute()
    messages.success(request, _("Segments recomputed for %(count)d customers.") % {"count": count})
    return redirect("analytics:segments")


@staff_required(*ANALYSTS)
def retention_dashboard(request: HttpRequest) -> HttpResponse:
    from .dashboard import dashboard

    figures = dashboard()
    peak = max((row["total"] for row in figures["surveys"]), default=0)
    for row in figures["surveys"]:
        row["bar"] = round(160 * row["total"] / peak) if peak else 0
    loyalty = []
    for age in CarAge:
        ratio = figures["by_age"].get(age.value)
        percent = ratio.percent if ratio else None
        loyalty.append({"label": age.label, "percent": percent, "width": round(2.4 * (percent or 0)),
                        "part": ratio.part if ratio else 0, "whole": ratio.whole if ratio else 0})
    return render(request, "analytics/dashboard.html", {**figures, "loyalty": loyalty, "active_module": "analytics"})
