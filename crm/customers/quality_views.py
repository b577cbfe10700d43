"""Screens of data quality: the manager's overview and rules, the "to verify" work list, archive and restore."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole, User
from crm.core.access import staff_required

from . import quality, selectors
from .forms import QualityRulesForm
from .models import QualityRules

MANAGERS = (StaffRole.DEALER_ADMIN, StaffRole.SALES_MANAGER, StaffRole.SERVICE_MANAGER, StaffRole.MARKETING)


@staff_required(*MANAGERS)
def quality_overview(request: HttpRequest) -> HttpResponse:
    rules = QualityRules.current()
    form = None
    if request.user.role == StaffRole.DEALER_ADMIN:
        form = QualityRulesForm(request.POST or None, instance=rules)
        if request.method == "POST" and form.is_valid():
            form.save()
            messages.success(request, _("Data quality rules saved."))
            return redirect("customers:quality")
    elif request.method == "POST":
        raise PermissionDenied
    report = quality.quality_report(rules)
    groups = [(_("By salesperson"), report["salesperson"]), (_("By service advisor"), report["service_advisor"]),
              (_("By rooftop"), report["rooftop"])]
    return render(request, "customers/quality.html", {
        "report": report, "report_groups": groups, "rules": rules, "form": form, "active_module": "customers",
        "required_labels": [quality.REQUIRABLE[name] for name in rules.required_fields if name in quality.REQUIRABLE],
    })


@staff_required()
def to_verify_list(request: HttpRequest) -> HttpResponse:
    """Customers whose contact data is due for confirmation: one's own, or anyone's for managers."""
    rules = QualityRules.current()
    is_manager = request.user.role in MANAGERS
    responsible = request.user
    staff = []
    if is_manager:
        staff = list(User.objects.exclude(role="").filter(is_active=True).order_by("last_name", "first_name", "email"))
        chosen = request.GET.get("responsible", "")
        responsible = next((user for user in staff if str(user.pk) == chosen), None)
    people = quality.to_verify(rules, responsible=responsible).select_related("rooftop").prefetch_related(
        "phones", "emails")
    page = Paginator(people, 25).get_page(request.GET.get("page"))
    for person in page.object_list:
        person.stale_labels = [str(label) for kind, label in quality.VERIFIABLE.items()
                               if getattr(person, f"stale_{kind}")]
    return render(request, "customers/to_verify.html", {
        "page": page, "rules": rules, "staff": staff, "responsible": responsible, "is_manager": is_manager,
        "active_module": "customers",
    })


@require_POST
@staff_required()
def contacts_verify(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_for_staff(pk)
    kinds = [kind for kind in request.POST.getlist("kind") if kind in quality.VERIFIABLE]
    done = quality.contacts_verify(person=person, by=request.user, kinds=kinds)
    if done:
        messages.success(request, _("Marked as confirmed today: %(what)s.")
                         % {"what": ", ".join(str(quality.VERIFIABLE[kind]) for kind in done)})
    else:
        messages.error(request, _("Nothing to confirm: choose the phone, e-mail or address the customer confirmed."))
    if request.POST.get("next") == "to_verify":
        return redirect("customers:to_verify")
    return redirect("customers:detail", pk=person.pk)


@require_POST
@staff_required()
def hint_resolve(request: HttpRequest, pk: int, hint: int) -> HttpResponse:
    """A value to check has been checked (and the record corrected where it needed it)."""
    person = selectors.person_for_staff(pk)
    if quality.hint_resolve(person=person, hint_id=hint, by=request.user):
        messages.success(request, _("Marked as checked."))
    return redirect("customers:detail", pk=person.pk)


@require_POST
@staff_required(*MANAGERS)
def person_archive(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_for_staff(pk)
    if person.archived_at is None:
        quality.person_archive(person=person, by=request.user)
        messages.success(request, _("%(name)s is archived. Restore them here at any time.") % {"name": person})
    return redirect("customers:detail", pk=person.pk)


@require_POST
@staff_required()
def person_restore(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_for_staff(pk)
    if person.archived_at is not None:
        quality.person_restore(person=person, by=request.user)
        messages.success(request, _("%(name)s is back among active customers.") % {"name": person})
    return redirect("customers:detail", pk=person.pk)
