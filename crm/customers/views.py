from datetime import datetime, time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from config.celery import enqueue_on_commit
from crm.core.access import staff_required
from crm.core.collation import name_order
from crm.core.parsing import id_from
from crm.dealerships.models import Rooftop
from crm.dealerships.selectors import customers_export_allowed

from . import exports, households, selectors, services
from .forms import (
    ConsentForm,
    HandoverForm,
    HouseholdMemberForm,
    HouseholdNameForm,
    NoteForm,
    PersonForm,
    VehicleLinkForm,
)
from .identity import evidence_rows, reason_label
from .identity import is_evidence as identity_evidence
from .import_views import IMPORTERS
from .merging import customers_merge, merge_undo
from .models import DuplicateCandidate, Household, MergeRecord, Person, QualityRules, VehicleLink
from .privacy_views import export_refused
from .quality import person_quality
from .quality_views import MANAGERS
from .tasks import duplicates_refresh

PAGE_SIZE = 25
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _listed(request: HttpRequest) -> tuple[str, str, "QuerySet[Person]"]:
    """The customers the list shows for this request's search and filters."""
    query = request.GET.get("q", "").strip()
    people = selectors.customer_search(query, region=services.tenant_region(),
                                       archived=request.GET.get("archived") == "1")
    rooftop_id = request.GET.get("rooftop", "")
    if (pk := id_from(rooftop_id)) is not None:
        people = people.filter(rooftop_id=pk)
    return query, rooftop_id, people


@staff_required()
def customer_list(request: HttpRequest) -> HttpResponse:
    query, rooftop_id, people = _listed(request)
    people = people.select_related("rooftop").prefetch_related("phones").order_by(
        *name_order(services.tenant_language()))
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/list.html", {
        "page": page, "query": query, "rooftops": Rooftop.objects.filter(is_active=True),
        "rooftop_id": rooftop_id, "active_module": "customers", "can_hand_over": request.user.role in HANDOVER_ALLOWED,
        "can_import": request.user.role in IMPORTERS, "archived": request.GET.get("archived") == "1",
        "can_export": customers_export_allowed(request.user),
    })


@staff_required()
def customer_export(request: HttpRequest, file_format: str) -> HttpResponse:
    """The list as it is searched and filtered, every page of it: for the roles the dealer admin allows
    (403 with the reason for anyone else), each download recorded in the audit trail first."""
    if not customers_export_allowed(request.user):
        return export_refused(request)
    query, rooftop_id, people = _listed(request)
    rooftop = Rooftop.objects.filter(pk=pk).first() if (pk := id_from(rooftop_id)) is not None else None
    exports.customers_export_record(by=request.user, file_format=file_format, search=query,
                                    rooftop=rooftop.name if rooftop else "", rows=people.count(),
                                    archived=request.GET.get("archived") == "1")
    stamp = timezone.localdate().isoformat()
    if file_format == "xlsx":
        response = HttpResponse(exports.xlsx_bytes(people), content_type=XLSX_TYPE)
    else:
        response = StreamingHttpResponse(exports.csv_stream(people), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.{file_format}"'
    return response


@staff_required()
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.person_for_staff(pk))


@staff_required()
def customer_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_for_staff(pk)
    page, entries = selectors.timeline_page(person, viewer=request.user, number=request.GET.get("page"))
    return render(request, "customers/timeline.html", {"person": person, "page": page, "entries": entries,
                                                       "active_module": "customers"})


def _detail(request: HttpRequest, person: Person, *, vehicle_form: "VehicleLinkForm | None" = None,
            household_form: HouseholdMemberForm | None = None, status: int = 200) -> HttpResponse:
    view = selectors.customer_360(person, viewer=request.user)
    return render(request, "customers/detail.html", status=status, context={
        "vehicle_form": vehicle_form or VehicleLinkForm(), "today": timezone.localdate(),
        "household_form": household_form or HouseholdMemberForm(person=person),
        "view": view, "person": person, "note_form": NoteForm(),
        "quality": person_quality(person, phones=view.phones, emails=view.emails, links=view.vehicle_links,
                                  has_consent=any(state.latest for state in view.consents),
                                  rules=QualityRules.current()),
        "can_archive": request.user.role in MANAGERS,
        "consent_form": ConsentForm(),
        "active_module": "customers", "can_review": request.user.role in REVIEWERS,
        "can_see_imports": request.user.role in IMPORTERS,
    })


@staff_required()
def customer_create(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = services.person_create(by=request.user, fields=form.person_fields(),
                                        phones=form.cleaned_data["phones"], emails=form.cleaned_data["emails"],
                                        source="by_hand")
        messages.success(request, _("Customer %(name)s created.") % {"name": person})
        return redirect("customers:detail", pk=person.pk)
    return render(request, "customers/form.html", {"form": form, "active_module": "customers"})


@staff_required()
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_for_staff(pk)
    form = PersonForm(request.POST or None, instance=person)
    if request.method == "POST" and form.is_valid():
        services.person_update(person=person, by=request.user, fields=form.person_fields(),
                               phones=form.cleaned_data["phones"], emails=form.cleaned_data["emails"])
        messages.success(request, _("Changes saved."))
        return redirect("customers:detail", pk=person.pk)
    return render(request, "customers/form.html", {"form": form, "person": person, "active_module": "customers"})


# Who may hand customers over, and which responsibility.
HANDOVER_ALLOWED = {
    StaffRole.DEALER_ADMIN: ("salesperson", "service_advisor"),
    StaffRole.SALES_MANAGER: ("salesperson",),
    StaffRole.SERVICE_MANAGER: ("service_advisor",),
}


@staff_required(*HANDOVER_ALLOWED)
def customers_handover(request: HttpRequest) -> HttpResponse:
    allowed = HANDOVER_ALLOWED[request.user.role]
    form = HandoverForm(request.POST or None, allowed=allowed)
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.customers_handover(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, ngettext(
                "%(count)d customer handed over to %(name)s.", "%(count)d customers handed over to %(name)s.", moved,
            ) % {"count": moved, "name": form.cleaned_data["to_user"]})
            return redirect("customers:handover")
    return render(request, "customers/handover.html", {"form": form, "active_module": "customers"})


# Who decides whether two records are one person.
REVIEWERS = (StaffRole.DEALER_ADMIN, StaffRole.SALES_MANAGER, StaffRole.SERVICE_MANAGER, StaffRole.MARKETING)


@staff_required(*REVIEWERS)
def duplicates_review(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("action") == "refresh":
        enqueue_on_commit(duplicates_refresh)
        messages.info(request, _("Looking for duplicates; new pairs appear here in a minute."))
        return redirect("customers:duplicates")
    candidates = (DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN)
                  .select_related("person_a", "person_b").prefetch_related("person_a__phones", "person_b__phones"))
    page = Paginator(candidates, PAGE_SIZE).get_page(request.GET.get("page"))
    for candidate in page.object_list:
        candidate.reason_labels = [reason_label(code) for code in candidate.reasons
                                   if not identity_evidence(code)]
        candidate.evidence = evidence_rows(candidate.reasons)
        candidate.probability_percent = f"{candidate.confidence:.2%}"
    return render(request, "customers/duplicates.html", {"page": page, "active_module": "customers"})


@require_POST
@staff_required(*REVIEWERS)
def duplicate_decide(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = get_object_or_404(DuplicateCandidate, pk=pk, status=DuplicateCandidate.Status.OPEN)
    decision = request.POST.get("decision")
    if decision in ("keep_a", "keep_b"):
        survivor, other = ((candidate.person_a, candidate.person_b) if decision == "keep_a"
                           else (candidate.person_b, candidate.person_a))
        try:
            customers_merge(survivor=survivor, others=[other], by=request.user,
                            reason=", ".join(reason_label(code) for code in candidate.reasons)[:300])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("customers:duplicates")
        candidate.status = DuplicateCandidate.Status.MERGED
        messages.success(request, _("Merged into %(name)s. The merge can be undone from the customer's page.")
                         % {"name": survivor})
    elif decision == "dismiss":
        candidate.status = DuplicateCandidate.Status.DISMISSED
        messages.success(request, _("Marked as different people."))
    else:
        return redirect("customers:duplicates")
    candidate.decided_by, candidate.decided_at = request.user, timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return redirect("customers:duplicates")


@require_POST
@staff_required(*REVIEWERS)
def merge_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(MergeRecord, pk=pk)
    try:
        merge_undo(record=record, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.MERGED,
                                          person_a_id__in=[record.survivor_id, *record.merged],
                                          person_b_id__in=[record.survivor_id, *record.merged]
                                          ).update(status=DuplicateCandidate.Status.OPEN, decided_at=None)
        messages.success(request, _("The merge was undone; both records are back as they were."))
    return redirect("customers:detail", pk=record.survivor_id)


@require_POST
@staff_required()
def consent_create(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_for_staff(pk)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(messages_)}" if name in form.fields
                           else " ".join(messages_) for name, messages_ in form.errors.items())
        messages.error(request, _("The consent was not recorded. %(errors)s") % {"errors": errors})
        return redirect("customers:detail", pk=person.pk)
    data = form.cleaned_data
    expires_at = (timezone.make_aware(datetime.combine(data["expires_on"], time.max))
                  if data["expires_on"] else None)
    services.consent_record(person=person, by=request.user, channel=data["channel"], purpose=data["purpose"],
                            granted=data["granted"], source=data["source"], proof=data["proof"], expires_at=expires_at)
    messages.success(request, _("Consent recorded."))
    return redirect("customers:detail", pk=person.pk)


@require_POST
@staff_required()
def note_create(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_for_staff(pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.note_add(person=person, by=request.user, **form.cleaned_data)
        messages.success(request, _("Note added."))
    else:
        messages.error(request, _("The note was not added: write what happened."))
    return redirect("customers:detail", pk=person.pk)


@require_POST
@staff_required()
def vehicle_link_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a car to the customer (new, or an existing one by VIN: a new owner takes it over)."""
    person = selectors.person_for_staff(pk)
    form = VehicleLinkForm(request.POST)
    link = form.save(party=person, by=request.user) if form.is_valid() else None
    if link is not None:
        messages.success(request, _("%(vehicle)s added.") % {"vehicle": link.vehicle})
        return redirect("customers:detail", pk=person.pk)
    return _detail(request, person, vehicle_form=form, status=400)


@require_POST
@staff_required()
def vehicle_link_end(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    """The customer no longer owns, uses or drives this car; the link stays as history."""
    person = selectors.person_for_staff(pk)
    link = get_object_or_404(VehicleLink, pk=link_pk, person=person, ended_on__isnull=True)
    services.vehicle_link_end(link=link, by=request.user)
    messages.success(request, _("%(vehicle)s is now in the customer's history.") % {"vehicle": link.vehicle})
    return redirect("customers:detail", pk=person.pk)


@require_POST
@staff_required()
def household_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Someone who lives with the customer joins their household (one is started if there is none)."""
    person = selectors.person_for_staff(pk)
    form = HouseholdMemberForm(request.POST, person=person)
    if form.is_valid():
        try:
            households.household_add(person=person, member=form.cleaned_data["person"], by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(member)s added to the household.") % {"member": form.cleaned_data["person"]})
            return redirect("customers:detail", pk=person.pk)
    return _detail(request, person, household_form=form, status=400)


@require_POST
@staff_required()
def household_member_remove(request: HttpRequest, pk: int, household_pk: int, member_pk: int) -> HttpResponse:
    """A member moves out; asked from any member's page, the household must be one of theirs."""
    person = selectors.person_for_staff(pk)
    household = get_object_or_404(Household, pk=household_pk, members=person)
    member = get_object_or_404(household.members.all(), pk=member_pk)
    households.household_remove(household=household, member=member, by=request.user)
    messages.success(request, _("%(member)s is no longer in the household.") % {"member": member})
    return redirect("customers:detail", pk=person.pk)


@require_POST
@staff_required()
def household_rename(request: HttpRequest, pk: int, household_pk: int) -> HttpResponse:
    person = selectors.person_for_staff(pk)
    household = get_object_or_404(Household, pk=household_pk, members=person)
    form = HouseholdNameForm(request.POST, instance=Household.objects.get(pk=household.pk))
    if form.is_valid():
        households.household_rename(household=household, name=form.cleaned_data["name"], by=request.user)
        messages.success(request, _("Household renamed."))
    else:
        messages.error(request, _("The household keeps its name: a name is required."))
    return redirect("customers:detail", pk=person.pk)
