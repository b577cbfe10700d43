"""The dealer admin's screen for who may download customer lists, and the record of every download; the page
everyone else gets instead of a download."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from crm.core.access import staff_required
from crm.dealerships.forms import ExportRolesForm
from crm.dealerships.models import PrivacyRules
from crm.dealerships.selectors import export_roles

from .exports import export_roles_set, exports_log


@staff_required(StaffRole.DEALER_ADMIN)
def data_access(request: HttpRequest) -> HttpResponse:
    form = ExportRolesForm(request.POST if request.method == "POST" else None,
                           initial={"roles": PrivacyRules.current().export_roles})
    if request.method == "POST" and form.is_valid():
        try:
            export_roles_set(roles=form.cleaned_data["roles"], by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:data_access")
    return render(request, "customers/data_access.html", status=400 if form.errors else 200, context={
        "form": form, "log": exports_log(), "active_module": "settings"})


def export_refused(request: HttpRequest) -> HttpResponse:
    """403 for a download of customer rows the viewer's role may not make: who may, and that searching and
    opening customers still works."""
    return render(request, "customers/export_denied.html", status=403, context={
        "active_module": "customers", "roles": [StaffRole(role).label for role in export_roles()]})
