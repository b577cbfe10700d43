"""Sales screens: the salesperson's day, prospects, deals, test drives, transfers, handover and the
manager's monthly review. A salesperson sees only the prospects they hold; managers see all."""

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.forms import Form, modelformset_factory
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import tenant_signing
from accounts.models import StaffRole, User
from crm.core.access import staff_required
from crm.core.parsing import day_from, id_from, month_from
from crm.customers import normalize
from crm.customers.models import Person
from crm.customers.services import person_create, phones_normalize, tenant_region
from crm.dealerships.models import Rooftop

from . import selectors, services
from .forms import (
    AssignForm,
    CadenceForm,
    CareDoneForm,
    CareStepForm,
    ContactForm,
    DealForm,
    DeliveryForm,
    DemoVehicleForm,
    HandoverForm,
    LevelForm,
    ProspectForm,
    ScheduleForm,
    StageForm,
    TestDriveForm,
    TransferForm,
)
from .models import (
    WORKED_LEVELS,
    Cadence,
    CareStep,
    CareTask,
    DemoVehicle,
    Level,
    Opportunity,
    Prospect,
    SalesSchedule,
    Source,
    TestDrive,
    TransferRequest,
)
from .services import MANAGERS, SELLERS, FirstContact, ProspectHeld

SALES = (*SELLERS, StaffRole.DEALER_ADMIN)
PAGE_SIZE = 25


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {"active_module": "sales", "is_manager": request.user.role in MANAGERS,
                                      **context}, status=status)


@staff_required()
def my_day(request: HttpRequest) -> HttpResponse:
    """Today's work: planned contacts (overdue first), care of delivered customers, test drives, call-backs."""
    day = selectors.my_day(request.user)
    team = selectors.team_day(day.today) if request.user.role in MANAGERS else []
    return _page(request, "sales/my_day.html", {"day": day, "team": team, "done_form": CareDoneForm()})


def _filters(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip() for name in ("q", "level", "source", "salesperson", "rooftop",
                                                                 "state")}


@staff_required(*SALES)
def prospect_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    prospects = selectors.prospects_for(request.user)
    if filters["state"] == "closed":
        prospects = prospects.filter(closed_on__isnull=False).order_by("-closed_on", "-pk")
    else:
        prospects = prospects.filter(closed_on__isnull=True)
        if filters["state"] == "overdue":
            prospects = prospects.filter(contacts__done_at__isnull=True, level__in=WORKED_LEVELS,
                                         contacts__due_by__lt=timezone.localdate())
    if filters["level"] in Level.values:
        prospects = prospects.filter(level=filters["level"])
    if filters["source"] in Source.values:
        prospects = prospects.filter(source=filters["source"])
    if (rooftop_id := id_from(filters["rooftop"])) is not None:
        prospects = prospects.filter(rooftop_id=rooftop_id)
    if filters["salesperson"] == "none":
        prospects = prospects.filter(salesperson__isnull=True)
    elif (salesperson_id := id_from(filters["salesperson"])) is not None:
        prospects = prospects.filter(salesperson_id=salesperson_id)
    if filters["q"]:
        from crm.customers.selectors import customer_search

        prospects = prospects.filter(person__in=customer_search(filters["q"], region=tenant_region()).values("pk"))
    page = Paginator(prospects, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "sales/prospects.html", {
        "page": page, "filters": filters, "levels": Level.choices, "sources": Source.choices,
        "rooftops": Rooftop.objects.all(), "today": timezone.localdate(),
        "sellers": User.objects.filter(role__in=SELLERS) if request.user.role in MANAGERS else []})


def _person_for(form: ProspectForm, by: User) -> Person:
    """The customer found with the finder; else one already in the CRM with this phone or e-mail and
    the same or a similar name (then the collision check applies to them); else a new customer."""
    from .leads import contacts_lock, customer_match

    data = form.cleaned_data
    if data.get("person"):
        return data["person"]
    phones = phones_normalize([data["phone"]]) if data["phone"] else []
    email = normalize.email_normalize(data["email"]) if data["email"] else ""
    contacts_lock(phones[0] if phones else "", email)
    known = customer_match(phone=phones[0] if phones else "", email=email, family_name=data["family_name"],
                           given_name=data["given_name"])
    if known is not None:
        return known
    return person_create(by=by, fields={"family_name": data["family_name"], "given_name": data["given_name"],
                                        "channel": "walk_in" if data["source"] == Source.WALK_IN else "",
                                        "rooftop": data["rooftop"]},
                         phones=phones, emails=[data["email"]] if data["email"] else [], source="sales")


@staff_required(*SALES)
def prospect_create(request: HttpRequest) -> HttpResponse:
    may_assign = request.user.role in MANAGERS
    initial: dict[str, Any] = {}
    if (person_id := id_from(request.GET.get("person"))) is not None:
        person = Person.objects.active().filter(pk=person_id).first()
        if person is not None:
            initial = {"person": person.pk, "customer": str(person), "rooftop": person.rooftop_id}
    form = ProspectForm(request.POST or None, initial=initial, may_assign=may_assign)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        first = FirstContact(data["contact_kind"], data["outcome"] or "reached") if data["contact_kind"] else None
        salesperson = data.get("salesperson")
        try:
            with transaction.atomic():
                person = _person_for(form, request.user)
                prospect = services.prospect_create(
                    person=person, by=request.user, level=data["level"], rooftop=data["rooftop"],
                    salesperson=salesperson, route=may_assign and salesperson is None, first_contact=first,
                    fields={name: data[name] for name in ("source", "source_detail", "model_interest", "condition",
                                                          "trade_in", "financing", "notes")})
        except ProspectHeld as held:
            return _page(request, "sales/prospect_held.html", {
                "held": held.prospect, "message": str(held), "transfer_form": TransferForm(),
                "token": _transfer_token(held.prospect, request.user),
                "mine": held.prospect.salesperson_id == request.user.pk}, status=409)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("Prospect registered for %(name)s.") % {"name": prospect.person})
            return redirect("sales:prospect_detail", pk=prospect.pk)
    return _page(request, "sales/prospect_form.html", {"form": form}, status=400 if form.errors else 200)


def _errors_to_form(form: Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _prospect(request: HttpRequest, pk: int) -> Prospect:
    """The prospect if this user may see it; a colleague's prospect does not exist for a salesperson."""
    return get_object_or_404(selectors.prospects_for(request.user), pk=pk)


def _detail(request: HttpRequest, prospect: Prospect, status: int = 200, **forms: Form) -> HttpResponse:
    contacts = list(prospect.contacts.select_related("by").order_by("-done_at", "-pk"))
    deals = list(prospect.opportunities.select_related("vehicle").all())
    planned = next((contact for contact in contacts if contact.done_at is None), None)
    return _page(request, "sales/prospect_detail.html", status=status, context={
        "prospect": prospect, "planned": planned, "contacts": [c for c in contacts if c.done_at is not None],
        "history": list(prospect.history.select_related("by")[:50]), "deals": deals,
        "drives": list(prospect.test_drives.select_related("demo").order_by("-starts_at")),
        "transfers": list(prospect.transfer_requests.select_related("requested_by").filter(status="pending")),
        "today": timezone.localdate(),
        "contact_form": forms.get("contact_form") or ContactForm(),
        "level_form": forms.get("level_form") or LevelForm(initial={"level": prospect.level}),
        "deal_form": forms.get("deal_form") or DealForm(initial={"model": prospect.model_interest,
                                                                 "condition": prospect.condition}),
        "drive_form": forms.get("drive_form") or TestDriveForm(),
        "assign_form": forms.get("assign_form") or AssignForm(initial={"to_user": prospect.salesperson_id}),
        "stage_form": StageForm(),
    })


@staff_required(*SALES)
def prospect_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _prospect(request, pk))


def _post(request: HttpRequest, pk: int, form_class: type[Form], form_name: str, action: Any,
          success: str) -> HttpResponse:
    """Run ``action(prospect, form)`` on a valid form; errors (the form's or the service's) re-show the page."""
    prospect = _prospect(request, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            action(prospect, form)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, success)
            return redirect("sales:prospect_detail", pk=prospect.pk)
    return _detail(request, prospect, status=400, **{form_name: form})


@require_POST
@staff_required(*SALES)
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _post(request, pk, ContactForm, "contact_form", lambda prospect, form: services.contact_log(
        prospect=prospect, by=request.user, **form.cleaned_data), _("Contact logged."))


@require_POST
@staff_required(*SALES)
def level_update(request: HttpRequest, pk: int) -> HttpResponse:
    return _post(request, pk, LevelForm, "level_form", lambda prospect, form: services.level_change(
        prospect=prospect, by=request.user, **form.cleaned_data), _("Level changed."))


@require_POST
@staff_required(*MANAGERS)
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    return _post(request, pk, AssignForm, "assign_form", lambda prospect, form: services.prospect_assign(
        prospect=prospect, by=request.user, to_user=form.cleaned_data["to_user"]), _("Prospect assigned."))


@require_POST
@staff_required(*SALES)
def deal_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _post(request, pk, DealForm, "deal_form", lambda prospect, form: services.opportunity_create(
        prospect=prospect, by=request.user, fields={
            name: value for name, value in form.cleaned_data.items() if value is not None}), _("Deal added."))


@require_POST
@staff_required(*SALES)
def test_drive_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _post(request, pk, TestDriveForm, "drive_form", lambda prospect, form: services.test_drive_book(
        prospect=prospect, by=request.user, demo=form.cleaned_data["demo"], starts_at=form.cleaned_data["starts_at"],
        ends_at=form.ends_at), _("Test drive booked."))


def _deal(request: HttpRequest, pk: int) -> Opportunity:
    return get_object_or_404(Opportunity.objects.select_related("prospect__person", "prospect__salesperson",
                                                                "prospect__rooftop")
                             .filter(prospect__in=selectors.prospects_for(request.user)), pk=pk)


@require_POST
@staff_required(*SALES)
def deal_stage(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal(request, pk)
    form = StageForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.as_text())
        services.opportunity_stage(deal=deal, by=request.user, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Deal moved to %(stage)s.") % {"stage": deal.get_stage_display()})
    return redirect("sales:prospect_detail", pk=deal.prospect_id)


@staff_required(*SALES)
def deal_offer(request: HttpRequest, pk: int) -> HttpResponse:
    from .offer import offer_filename, offer_pdf

    deal = _deal(request, pk)
    response = HttpResponse(offer_pdf(deal), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{offer_filename(deal)}"'
    return response


@staff_required(*SALES)
def deal_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal(request, pk)
    form = DeliveryForm(request.POST or None, initial={"model": deal.model, "delivered_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.delivery_record(deal=deal, by=request.user, car=services.Delivery(**form.cleaned_data))
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("Delivery recorded: %(name)s owns the car now, and the care plan has "
                                        "started.") % {"name": deal.prospect.person})
            return redirect("sales:prospect_detail", pk=deal.prospect_id)
    return _page(request, "sales/delivery_form.html", {"deal": deal, "form": form},
                 status=400 if form.errors else 200)


@require_POST
@staff_required(*SALES)
def test_drive_status(request: HttpRequest, pk: int) -> HttpResponse:
    drive = get_object_or_404(TestDrive.objects.select_related("prospect", "demo")
                              .filter(prospect__in=selectors.prospects_for(request.user)), pk=pk)
    try:
        services.test_drive_close(drive=drive, by=request.user, status=request.POST.get("status", ""),
                                  note=request.POST.get("note", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Test drive: %(status)s.") % {"status": drive.get_status_display()})
    return redirect("sales:prospect_detail", pk=drive.prospect_id)


@require_POST
@staff_required()
def care_done(request: HttpRequest, pk: int) -> HttpResponse:
    tasks = CareTask.objects.all() if request.user.role in MANAGERS else CareTask.objects.filter(
        assigned_to=request.user)
    task = get_object_or_404(tasks, pk=pk)
    form = CareDoneForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Say how it went."))
        services.care_task_done(task=task, by=request.user, outcome=form.cleaned_data["outcome"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Done: %(task)s.") % {"task": task.label})
    return redirect("sales:my_day")


# --- Collisions: transfer requests ------------------------------------------------------------------

TRANSFER_PURPOSE = "sales-transfer"


def _transfer_token(prospect: Prospect, user: User) -> str:
    """Given with a collision refusal: the right to ask for that prospect, for that user, for a day, in this
    dealer group only (the ids repeat in every group)."""
    return tenant_signing.dumps([prospect.pk, user.pk], purpose=TRANSFER_PURPOSE)


def _transfer_allowed(token: str, prospect_pk: int, user: User) -> bool:
    try:
        return tenant_signing.loads(token, purpose=TRANSFER_PURPOSE, max_age=86400) == [prospect_pk, user.pk]
    except tenant_signing.BadSignature:
        return False


@require_POST
@staff_required(*SELLERS)
def transfer_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for a customer a colleague holds — only after the collision refusal, which hands out a signed
    token for that prospect and user: nobody can walk through prospect ids to learn who holds whom."""
    token = request.POST.get("token", "")
    if not _transfer_allowed(token, pk, request.user):
        raise Http404
    prospect = get_object_or_404(Prospect.objects.select_related("person", "salesperson").filter(
        closed_on__isnull=True), pk=pk)
    form = TransferForm(request.POST)
    if form.is_valid():
        try:
            services.transfer_request(prospect=prospect, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("Your request went to the sales manager."))
            return redirect("sales:my_day")
    return _page(request, "sales/prospect_held.html", {
        "held": prospect, "transfer_form": form, "message": str(ProspectHeld(prospect)), "token": token},
        status=400)


@staff_required(*MANAGERS)
def transfers(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request_ = get_object_or_404(TransferRequest, pk=id_from(request.POST.get("request")) or 0)
        try:
            services.transfer_decide(request=request_, by=request.user,
                                     approve=request.POST.get("decision") == "approve",
                                     note=request.POST.get("note", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Decided."))
        return redirect("sales:transfers")
    pending = (TransferRequest.objects.select_related("prospect__person", "prospect__salesperson", "requested_by")
               .filter(status=TransferRequest.Status.PENDING).order_by("created_at"))
    decided = (TransferRequest.objects.select_related("prospect__person", "requested_by", "decided_by")
               .exclude(status=TransferRequest.Status.PENDING).order_by("-decided_at")[:20])
    return _page(request, "sales/transfers.html", {"pending": pending, "decided": decided})


@staff_required(*MANAGERS)
def handover(request: HttpRequest) -> HttpResponse:
    form = HandoverForm(request.POST or None, initial={"from_user": request.GET.get("from")})
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.prospects_handover(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("%(count)d prospects handed over from %(from)s to %(to)s.") % {
                "count": moved, "from": form.cleaned_data["from_user"], "to": form.cleaned_data["to_user"]})
            return redirect("sales:prospects")
    held = (Prospect.objects.filter(closed_on__isnull=True, salesperson__isnull=False).values("salesperson")
            .annotate(n=Count("pk")))
    counts = {row["salesperson"]: row["n"] for row in held}
    people = [(user, counts.get(user.pk, 0)) for user in User.objects.filter(role__in=SELLERS).order_by("email")]
    return _page(request, "sales/handover.html", {"form": form, "people": people},
                 status=400 if form.errors else 200)


# --- The manager's monthly review ---------------------------------------------------------------------

def _month(text: str) -> date:
    """``2026-10`` as its first day; anything else (or a month outside 2000..next year) is this month."""
    this_month = timezone.localdate().replace(day=1)
    asked = month_from(text)
    if asked is None or not date(2000, 1, 1) <= asked <= this_month.replace(year=this_month.year + 1):
        return this_month
    return asked


@staff_required(*SALES)
def review(request: HttpRequest) -> HttpResponse:
    month = _month(request.GET.get("month", ""))
    rooftop = request.GET.get("rooftop", "")
    salesperson = request.GET.get("salesperson", "")
    if request.user.role not in MANAGERS:
        salesperson = str(request.user.pk)  # a salesperson reviews their own month
    data = selectors.monthly_review(month, rooftop_id=id_from(rooftop), salesperson_id=id_from(salesperson))
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return _page(request, "sales/review.html", {
        "review": data, "month": month, "previous": previous,
        "following": following if following <= timezone.localdate() else None,
        "rooftops": Rooftop.objects.all(), "rooftop": rooftop, "salesperson": salesperson,
        "sellers": User.objects.filter(role__in=SELLERS) if request.user.role in MANAGERS else []})


# --- Settings: cadence, schedules, demo fleet, care plan ---------------------------------------------

CadenceFormSet = modelformset_factory(Cadence, form=CadenceForm, extra=0, edit_only=True)
CareStepFormSet = modelformset_factory(CareStep, form=CareStepForm, extra=1, can_delete=True)


@staff_required(*MANAGERS)
def sales_settings(request: HttpRequest) -> HttpResponse:
    """The contact cadence per level and the post-delivery care plan, both the group's own."""
    cadence = CadenceFormSet(request.POST or None, prefix="cadence",
                             queryset=Cadence.objects.filter(level__in=WORKED_LEVELS))
    care = CareStepFormSet(request.POST or None, prefix="care", queryset=CareStep.objects.all())
    if request.method == "POST" and cadence.is_valid() and care.is_valid():
        with transaction.atomic():
            cadence.save()
            care.save()
        messages.success(request, _("Sales settings saved. New plans follow them; contacts already planned keep "
                                    "their dates."))
        return redirect("sales:settings")
    return _page(request, "sales/settings.html", {
        "cadence": cadence, "care": care,
        "schedules": SalesSchedule.objects.select_related("user", "rooftop").order_by("rooftop__name", "user__email"),
        "schedule_form": ScheduleForm(), "demos": DemoVehicle.objects.select_related("rooftop"),
        "demo_form": DemoVehicleForm()}, status=400 if request.method == "POST" else 200)


@require_POST
@staff_required(*MANAGERS)
def schedule_save(request: HttpRequest) -> HttpResponse:
    user_id = id_from(request.POST.get("user"))
    existing = SalesSchedule.objects.filter(user_id=user_id).first() if user_id is not None else None
    form = ScheduleForm(request.POST, instance=existing)
    if form.is_valid():
        form.save()
        messages.success(request, _("Schedule saved for %(name)s.") % {"name": form.instance.user})
    else:
        messages.error(request, " ".join(f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errs)}"
                                         for name, errs in form.errors.items()))
    return redirect("sales:settings")


@require_POST
@staff_required(*MANAGERS)
def demo_save(request: HttpRequest) -> HttpResponse:
    if (pk := id_from(request.POST.get("retire"))) is not None:
        DemoVehicle.objects.filter(pk=pk).update(is_active=False)
        messages.success(request, _("The car has left the demo fleet; its bookings stay in the history."))
        return redirect("sales:settings")
    form = DemoVehicleForm(request.POST)
    if form.is_valid():
        form.save()
        messages.success(request, _("Demo car added."))
    else:
        messages.error(request, " ".join(" ".join(errs) for errs in form.errors.values()))
    return redirect("sales:settings")


@staff_required(*SALES)
def demo_calendar(request: HttpRequest) -> HttpResponse:
    """The demo fleet's bookings for a day, so a salesperson sees when a car is free."""
    today = timezone.localdate()
    day = day_from(request.GET.get("day")) or today
    if abs((day - today).days) > 3660:  # ten years either way: a typo, not a plan
        day = today
    start = selectors.day_start(day)
    drives = (TestDrive.objects.select_related("demo", "prospect__person", "prospect__salesperson")
              .filter(starts_at__lt=start + timedelta(days=1), ends_at__gt=start)
              .filter(status__in=[TestDrive.Status.BOOKED, TestDrive.Status.DONE]).order_by("demo", "starts_at"))
    mine = set(selectors.prospects_for(request.user).filter(
        Q(test_drives__starts_at__lt=start + timedelta(days=1)) & Q(test_drives__ends_at__gt=start))
        .values_list("pk", flat=True))
    return _page(request, "sales/demo_calendar.html", {
        "day": day, "drives": drives, "mine": mine, "demos": DemoVehicle.objects.filter(is_active=True)
        .select_related("rooftop"), "previous": day - timedelta(days=1), "following": day + timedelta(days=1)})
