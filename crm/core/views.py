from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.dealerships.models import Rooftop

from .access import staff_required


@staff_required()
def dashboard(request: HttpRequest) -> HttpResponse:
    rooftops = list(Rooftop.objects.filter(is_active=True).only("name", "city", "timezone"))
    can_edit_site = request.user.has_perm("wagtailadmin.access_admin")
    return render(
        request,
        "crm/dashboard.html",
        {"rooftops": rooftops, "can_edit_site": can_edit_site, "active_module": "dashboard"},
    )
