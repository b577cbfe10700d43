"""The public answer page (no sign-in: the token is the key) and the managers' statistics."""

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.models import StaffRole, User
from accounts.throttle import client_network
from crm.core.access import staff_required

from . import services
from .forms import AnswerForm
from .models import Answer

MANAGERS = (StaffRole.DEALER_ADMIN, StaffRole.SALES_MANAGER, StaffRole.SERVICE_MANAGER, StaffRole.MARKETING)


@never_cache
def answer_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_for(token)
    except ValidationError as error:
        return render(request, "surveys/closed.html", {"message": " ".join(error.messages)}, status=410)
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.answer(token=token, address=client_network(request),
                            agent=request.headers.get("User-Agent", ""), **form.cleaned_data)
        except ValidationError as error:
            return render(request, "surveys/closed.html", {"message": " ".join(error.messages)}, status=410)
        return render(request, "surveys/thanks.html")
    services.opened(invitation)
    return render(request, "surveys/answer.html", {"form": form, "invitation": invitation},
                  status=400 if form.errors else 200)


@staff_required(*MANAGERS)
def statistics(request: HttpRequest) -> HttpResponse:
    """CSI and NPS by rooftop and by employee, with how many answers carry a fabrication signal."""
    measures = {**services.score_measures(), "flagged": Count("pk", filter=~Q(signals=[]))}
    by_rooftop = list(Answer.objects.values("invitation__rooftop__name").annotate(**measures).order_by(
        "invitation__rooftop__name"))
    by_employee = list(Answer.objects.values("invitation__employee").annotate(**measures).order_by(
        "-flagged", "invitation__employee"))
    staff = User.objects.in_bulk([row["invitation__employee"] for row in by_employee if row["invitation__employee"]])
    for row in (*by_rooftop, *by_employee):
        row["nps"] = services.nps(row)
    for row in by_employee:  # by name, as staff know each other
        row["employee"] = staff.get(row["invitation__employee"])
    flagged = list(Answer.objects.exclude(signals=[]).select_related(
        "invitation__person", "invitation__employee").order_by("-answered_at")[:50])
    labels = dict(Answer.Signal.choices)
    for answer in flagged:
        answer.labels = [labels.get(signal, signal) for signal in answer.signals]
    return render(request, "surveys/statistics.html", {
        "by_rooftop": by_rooftop, "by_employee": by_employee, "flagged": flagged, "active_module": "analytics"})
