"""The dealer admin's screen for who may download customer lists (with the record of every download) and
where the customers come from; the page everyone else gets instead of a download."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import StaffRole
from crm.core.access import staff_required
from crm.dealerships.forms import CustomerCountriesForm, ExportRolesForm
from crm.dealerships.models import PrivacyRules
from crm.dealerships.selectors import export_roles

from .exports import export_roles_set, exports_log
from .services import customer_countries_set, tenant_region, tenant_regions


@staff_required(StaffRole.DEALER_ADMIN)
def data_access(request: HttpRequest) -> HttpResponse:
    """Who may download customer lists, and where the customers come from (the countries phones are read
    in); each form posts on its own."""
    posted = request.POST if request.method == "POST" else None
    on_countries = posted is not None and posted.get("form") == "countries"
    form = ExportRolesForm(None if on_countries else posted, initial={"roles": PrivacyRules.current().export_roles})
    countries = CustomerCountriesForm(posted if on_countries else None,
                                      initial={"countries": ", ".join(tenant_regions()[1:])})
    if posted is not None and (countries if on_countries else form).is_valid():
        try:
            with transaction.atomic():
                if on_countries:
                    customer_countries_set(countries=countries.cleaned_data["countries"], by=request.user)
                else:
                    export_roles_set(roles=form.cleaned_data["roles"], by=request.user)
        except ValidationError as error:
            (countries if on_countries else form).add_error(None, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:data_access")
    return render(request, "customers/data_access.html", status=400 if form.errors or countries.errors else 200,
                  context={"form": form, "countries": countries, "own_country": tenant_region(),
                           "log": exports_log(), "active_module": "settings"})


def export_refused(request: HttpRequest) -> HttpResponse:
    """403 for a download of customer rows the viewer's role may not make: who may, and that searching and
    opening customers still works."""
    return render(request, "customers/export_denied.html", status=403, context={
        "active_module": "customers", "roles": [StaffRole(role).label for role in export_roles()]})
