"""The sales reports and the lost-deal analysis: for sales managers and dealer admins the whole team,
for a salesperson their own prospects only."""

from datetime import date
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import StaffRole
from crm.core.access import staff_required
from crm.dealerships.models import Rooftop

from .reports import Scope, default_period, lost_analysis, report_scope, sales_report

REPORT_ROLES = (StaffRole.SALES_MANAGER, StaffRole.DEALER_ADMIN, StaffRole.SALESPERSON)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("start of a period", "From"), required=False, widget=_date_input())
    end = forms.DateField(label=pgettext_lazy("end of a period", "To"), required=False, widget=_date_input())
    rooftop = forms.ModelChoiceField(label=_("Rooftop"), queryset=Rooftop.objects.order_by("name"), required=False,
                                     empty_label=_("All rooftops"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The period starts before it ends."))
        for name in ("start", "end"):
            if data.get(name) and not date(2000, 1, 1) <= data[name] <= date(2100, 12, 31):
                self.add_error(name, _("Choose a date between 2000 and 2100."))
        return data


def _scope(request: HttpRequest) -> tuple[PeriodForm, Scope]:
    """The period and rooftop asked for (the last 90 days and every rooftop by default, or when the
    dates make no sense), limited to what the user may see."""
    default_start, default_end = default_period()
    form = PeriodForm(request.GET or None)
    start: date = default_start
    end: date = default_end
    rooftop_id = None
    if form.is_bound and form.is_valid():
        end = form.cleaned_data["end"] or default_end
        start = form.cleaned_data["start"] or min(default_start, end)
        if start > end:  # only a start given, after today
            end = start
        rooftop_id = form.cleaned_data["rooftop"].pk if form.cleaned_data["rooftop"] else None
    if not form.is_bound:
        form = PeriodForm(initial={"start": start, "end": end})
    return form, report_scope(request.user, start=start, end=end, rooftop_id=rooftop_id)


@staff_required(*REPORT_ROLES)
def report(request: HttpRequest) -> HttpResponse:
    form, scope = _scope(request)
    return render(request, "sales/reports/report.html", {
        "form": form, "scope": scope, "report": sales_report(scope), "query": request.GET.urlencode(),
        "active_module": "sales"})


@staff_required(*REPORT_ROLES)
def lost_deals(request: HttpRequest) -> HttpResponse:
    form, scope = _scope(request)
    return render(request, "sales/reports/lost.html", {
        "form": form, "scope": scope, "lost": lost_analysis(scope), "query": request.GET.urlencode(),
        "active_module": "sales"})
