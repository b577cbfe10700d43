"""HQ's dashboard on the platform's host (/hq/) and the dealer admin's sharing choice on a dealer's host
(/hq-sharing/). The dashboard reads only snapshot rows of the groups that share with the HQ."""

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from crm.analytics.kpis import KPI_LABELS
from crm.core.parsing import id_from
from crm.customers.exports import csv_lines
from tenants.billing.views import admin_required
from tenants.models import SNAPSHOT_KPIS, DealerGroup, HqOrganisation, HqShare, Plan

from . import selectors, services

CHART_WIDTH, CHART_HEIGHT = 600, 160


def _labels() -> list[tuple[str, str]]:
    return [(kpi, KPI_LABELS[kpi]) for kpi in SNAPSHOT_KPIS]


def hq_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """HQ analysts on the platform's host only; everyone else gets 403 (or the sign-in page)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if connection.schema_name != get_public_schema_name():
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        analyst = getattr(request.user, "hq_analyst", None)
        if analyst is None:
            raise PermissionDenied
        request.hq = analyst.organisation
        return view(request, *args, **kwargs)

    return wrapper


def _month(request: HttpRequest, available: list[date]) -> date | None:
    """The month asked for, else the latest complete month (this month's figures run to yesterday only)."""
    try:
        chosen = date.fromisoformat(request.GET.get("month", ""))
    except ValueError:
        chosen = None
    return chosen if chosen in available else selectors.month_default(available, timezone.localdate())


def _filters(request: HttpRequest) -> dict[str, Any]:
    sort = request.GET.get("sort", "")
    size = request.GET.get("size", "")
    return {"country": request.GET.get("country", "")[:2].upper(), "plan": request.GET.get("plan", "")[:40],
            "size": size if size in selectors.SIZE_BANDS else "",
            "sort": sort if sort in SNAPSHOT_KPIS else "", "descending": request.GET.get("dir") == "desc"}


def _chart(points: list[tuple[date, Any]]) -> dict[str, Any] | None:
    """An SVG line for a series (no JavaScript) with its axes: the values at the top, middle and bottom of the box
    and gridlines there, the months under it (thinned to about six labels), and every point as a table for
    screen readers."""
    series = [(day, float(value)) for day, value in points if value is not None]
    if len(series) < 2:
        return None
    values = [value for _day, value in series]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = CHART_WIDTH / (len(series) - 1)
    dots = [(round(index * step, 1), round(CHART_HEIGHT - (value - low) / span * CHART_HEIGHT, 1), day, value)
            for index, (day, value) in enumerate(series)]
    every = -(-len(series) // 6)  # ceiling: at most about six month labels under the line
    return {"points": " ".join(f"{x},{y}" for x, y, _day, _value in dots), "dots": dots,
            "low": low, "high": high, "middle": (low + high) / 2, "first": series[0][0], "last": series[-1][0],
            "width": CHART_WIDTH, "height": CHART_HEIGHT, "middle_y": CHART_HEIGHT / 2,
            "months": [(day, index % every == 0 or index == len(series) - 1) for index, (day, _value) in
                       enumerate(series)]}


MONEY_KPIS = ("average_ticket",)  # figures in the group's currency


@hq_required
def dashboard(request: HttpRequest) -> HttpResponse:
    organisation = request.hq
    available = selectors.months(organisation)
    month = _month(request, available)
    filters = _filters(request)
    rows = selectors.month_rows(organisation, month=month, **filters) if month else []
    # Money is in each group's own currency: across currencies, no quartiles and no outliers (RUB and CNY
    # average tickets are not one scale).
    mixed = len({row.dealer_group.currency for row in rows}) > 1
    stats = {kpi: None if kpi in MONEY_KPIS and mixed else selectors.quartiles(
        [row.value(kpi) for row in rows if row.value(kpi) is not None]) for kpi in SNAPSHOT_KPIS}
    table = [(row, [(kpi, row.value(kpi), bool(stats[kpi] and stats[kpi].outlier(row.value(kpi)))
                     or (kpi == "csi" and selectors.too_good_to_be_true(row.snapshot)))
                    for kpi in SNAPSHOT_KPIS]) for row in rows]
    chart_kpi = request.GET.get("chart") if request.GET.get("chart") in SNAPSHOT_KPIS else "retention_rate"
    return render(request, "hq/dashboard.html", {
        "organisation": organisation, "months": available, "month": month, "filters": filters, "table": table,
        "kpis": SNAPSHOT_KPIS, "kpi_labels": _labels(), "chart_label": KPI_LABELS[chart_kpi],
        "stats": [(kpi, stats[kpi]) for kpi in SNAPSHOT_KPIS], "money_kpis": MONEY_KPIS, "mixed_currencies": mixed,
        "countries": sorted({row.dealer_group.country for row in rows}), "plans": Plan.objects.order_by("code"),
        "sizes": [(code, label) for code, (label, _low, _high) in selectors.SIZE_BANDS.items()],
        "chart_kpi": chart_kpi, "chart": _chart(selectors.series(organisation, kpi=chart_kpi)),
        "query": request.GET.urlencode()})


@hq_required
def export_csv(request: HttpRequest) -> HttpResponse:
    organisation = request.hq
    month = _month(request, selectors.months(organisation))
    rows = selectors.month_rows(organisation, month=month, **_filters(request)) if month else []
    # Group names are chosen by whoever signs up: every text cell formula-safe, as in the customer export.
    lines = csv_lines(["dealer_group", "country", "plan", "month", *SNAPSHOT_KPIS], (
        [row.dealer_group.name, row.dealer_group.country, row.dealer_group.plan.code if row.dealer_group.plan else "",
         month, *("" if row.value(kpi) is None else row.value(kpi) for kpi in SNAPSHOT_KPIS)] for row in rows))
    response = HttpResponse("".join(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kpis-{month or "none"}.csv"'
    return response


@hq_required
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Drill-down to one sharing group: its rooftops this month and its series (404 if it does not share)."""
    organisation = request.hq
    if not selectors.visible_snapshots(organisation).filter(dealer_group_id=pk).exists():
        raise Http404
    group = get_object_or_404(DealerGroup, pk=pk)
    available = selectors.months(organisation)
    month = _month(request, available)
    chart_kpi = request.GET.get("chart") if request.GET.get("chart") in SNAPSHOT_KPIS else "retention_rate"
    return render(request, "hq/group.html", {
        "organisation": organisation, "group": group, "month": month, "kpis": SNAPSHOT_KPIS,
        "kpi_labels": _labels(), "chart_label": KPI_LABELS[chart_kpi],
        "rooftops": [(row, [getattr(row, kpi) for kpi in SNAPSHOT_KPIS])
                     for row in selectors.rooftop_rows(organisation, dealer_group_id=pk, month=month)] if month else [],
        "chart_kpi": chart_kpi,
        "chart": _chart(selectors.series(organisation, kpi=chart_kpi, dealer_group_id=pk))})


# The dealer admin's choice (tenant host) ---------------------------------------------------------------

@admin_required
def sharing(request: HttpRequest) -> HttpResponse:
    group = DealerGroup.objects.get(pk=connection.tenant.pk)
    if request.method == "POST":
        try:
            if request.POST.get("withdraw"):
                share = get_object_or_404(HqShare, pk=id_from(request.POST.get("withdraw")) or 0, dealer_group=group)
                services.share_withdraw(share=share, by_email=request.user.email)
                messages.success(request, _("%(hq)s no longer receives your figures.") % {"hq": share.organisation})
            else:
                organisation = get_object_or_404(HqOrganisation, pk=id_from(request.POST.get("organisation")) or 0)
                services.share_grant(dealer_group=group, organisation=organisation, by_email=request.user.email)
                messages.success(request, _("%(hq)s now receives your figures.") % {"hq": organisation})
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("hq_sharing")
    active = {share.organisation_id: share for share in HqShare.objects.filter(dealer_group=group,
                                                                              withdrawn_at__isnull=True)}
    return render(request, "hq/sharing.html", {
        "organisations": [(organisation, active.get(organisation.pk)) for organisation in HqOrganisation.objects.all()],
        "history": HqShare.objects.filter(dealer_group=group).select_related("organisation")[:50],
        "active_module": "settings"})




def compare(request: HttpRequest) -> HttpResponse:
    """"How we compare" for the dealer's staff: the group's quarter among anonymous peers, per KPI."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not getattr(request.user, "is_dealer_staff", False):
        raise PermissionDenied
    group = DealerGroup.objects.get(pk=connection.tenant.pk)
    scope = "hq" if request.GET.get("peers") == "hq" else "country"
    month, positions, peers = selectors.how_we_compare(group, scope=scope)
    return render(request, "hq/compare.html", {
        "month": month, "positions": [(position, KPI_LABELS[position.kpi]) for position in positions],
        "peers": peers, "scope": scope, "group": group,
        "minimum": selectors.PEERS_MINIMUM, "money_kpis": MONEY_KPIS, "active_module": "analytics"})
