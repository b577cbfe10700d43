"""Screens of fleet and corporate customers: list, create and edit, the company page with its cars and people."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.core.access import staff_required

from . import companies, quality, selectors
from .forms import CompanyContactForm, CompanyForm, VehicleLinkForm
from .models import Company, CompanyContact


def _company(pk: int) -> Company:
    return get_object_or_404(Company.objects.select_related("rooftop", "salesperson"), pk=pk)


@staff_required()
def company_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    page = Paginator(companies.company_search(query).select_related("rooftop"), 25).get_page(request.GET.get("page"))
    return render(request, "customers/companies/list.html", {"page": page, "query": query,
                                                             "active_module": "customers"})


@staff_required()
def company_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    company = _company(pk) if pk else None
    form = CompanyForm(request.POST or None, instance=company)
    if request.method == "POST" and form.is_valid():
        saved = companies.company_save(company=form.instance)
        messages.success(request, _("%(company)s saved.") % {"company": saved})
        return redirect("customers:company_detail", pk=saved.pk)
    return render(request, "customers/companies/form.html", {"form": form, "company": company,
                                                             "active_module": "customers"})


def _page(request: HttpRequest, company: Company, *, contact_form: CompanyContactForm | None = None,
          vehicle_form: VehicleLinkForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "customers/companies/detail.html", status=status, context={
        "company": company, "contacts": companies.company_contacts(company), "fleet": companies.company_fleet(company),
        "contact_form": contact_form or CompanyContactForm(company=company),
        "vehicle_form": vehicle_form or VehicleLinkForm(), "active_module": "customers",
        "hints": selectors.hints_open(company),
    })


@staff_required()
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _company(pk))


@require_POST
@staff_required()
def company_contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(pk)
    form = CompanyContactForm(request.POST, company=company)
    if form.is_valid():
        try:
            contact = companies.company_contact_add(
                company=company, person=form.cleaned_data["person"], role=form.cleaned_data["role"],
                title=form.cleaned_data["title"], vehicles=list(form.cleaned_data["vehicles"]), by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(person)s added as %(role)s.")
                             % {"person": contact.person, "role": contact.get_role_display()})
            return redirect("customers:company_detail", pk=company.pk)
    return _page(request, company, contact_form=form, status=400)


@require_POST
@staff_required()
def company_contact_end(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    company = _company(pk)
    contact = get_object_or_404(CompanyContact, pk=contact_pk, company=company, ended_on__isnull=True)
    companies.company_contact_end(contact=contact, by=request.user)
    messages.success(request, _("%(person)s no longer has this role; it stays in the history.")
                     % {"person": contact.person})
    return redirect("customers:company_detail", pk=company.pk)


@require_POST
@staff_required()
def company_vehicle_create(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(pk)
    form = VehicleLinkForm(request.POST)
    link = form.save(party=company, by=request.user) if form.is_valid() else None
    if link is not None:
        messages.success(request, _("%(vehicle)s added.") % {"vehicle": link.vehicle})
        return redirect("customers:company_detail", pk=company.pk)
    return _page(request, company, vehicle_form=form, status=400)


@require_POST
@staff_required()
def company_hint_resolve(request: HttpRequest, pk: int, hint: int) -> HttpResponse:
    """A value to check on the company (from a DMS row naming only it) has been checked."""
    company = _company(pk)
    if quality.hint_resolve(company=company, hint_id=hint, by=request.user):
        messages.success(request, _("Marked as checked."))
    return redirect("customers:company_detail", pk=company.pk)
