from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import StaffRole
from crm.dealerships.models import Rooftop

from .access import staff_required
from .checklist import day_panels, first_steps


@staff_required()
def dashboard(request: HttpRequest) -> HttpResponse:
    rooftops = list(Rooftop.objects.filter(is_active=True).only("name", "city", "timezone"))
    can_edit_site = request.user.has_perm("wagtailadmin.access_admin")
    steps = first_steps() if request.user.role == StaffRole.DEALER_ADMIN else []
    return render(
        request,
        "crm/dashboard.html",
        {"rooftops": rooftops, "can_edit_site": can_edit_site, "active_module": "dashboard",
         "steps": steps if not all(step.done for step in steps) else [], "panels": day_panels(request.user),
         "steps_done": sum(step.done for step in steps)},
    )
