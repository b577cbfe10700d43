"""The owner portal's own pages (/my/): the garage and claiming a car. Signed-in owners only; each sees
their own cars and claims, and gets 404 for anyone else's."""

import zoneinfo
from datetime import timedelta
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from crm.core.access import staff_required
from crm.core.parsing import day_from, id_from
from crm.customers.models import Person
from crm.sales.lead_forms import EnquiryForm
from crm.sales.lead_views import enquiry_rate_exceeded
from crm.service.models import Appointment, Slot
from crm.service.notify import appointment_ics

from . import booking, guest, invitations, privacy, referrals, selectors, services
from .forms import (
    BookForm,
    ClaimForm,
    CodeForm,
    DeletionForm,
    GuestStartForm,
    GuestTimeForm,
    InvitationForm,
    PhoneForm,
    ProfileForm,
)
from .models import DeletionRequest, GuestBooking, PhoneCheck, VehicleClaim
from .qr import qr_svg

ALL_STAFF_ROLES = tuple(StaffRole.values)


@login_required
def garage(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/garage.html", {"cars": selectors.garage(request.user),
                                                  "appointments": booking.owner_appointments(request.user),
                                                  "linked": hasattr(request.user, "customer_link")})


@login_required
def history(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/history.html", {"visits": selectors.history(request.user),
                                                   "appointments": booking.owner_appointments(request.user)})


@login_required
def claim_start(request: HttpRequest) -> HttpResponse:
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claim = services.claim_start(user=request.user, vin=form.cleaned_data["vin"])
        except ValidationError as error:
            form.add_error("vin", error)
        else:
            return redirect("portal:claim_confirm", pk=claim.pk)
    return render(request, "portal/claim.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def phone_start(request: HttpRequest) -> HttpResponse:
    """Prove a mobile number on file by a code sent to it: another way for an account to become the customer."""
    if hasattr(request.user, "customer_link"):
        return redirect("portal:garage")
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            check = services.phone_check_start(user=request.user, raw_number=form.cleaned_data["number"])
        except ValidationError as error:
            form.add_error("number", error)
        else:
            return redirect("portal:phone_confirm", pk=check.pk)
    return render(request, "portal/phone.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def phone_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    check = get_object_or_404(PhoneCheck, pk=pk, user=request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            link = services.phone_check_confirm(check=check, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            if link is not None:
                messages.success(request, _("Thank you: we found your customer record. Your cars and history are "
                                            "here now."))
            else:
                messages.info(request, _("Your number is confirmed, but we could not tell which customer record "
                                         "is yours by it alone. Add your car with its VIN instead."))
            return redirect("portal:garage")
    return render(request, "portal/phone_code.html", {"form": form, "check": check,
                                                      "masked": f"•••{check.number[-3:]}"},
                  status=400 if form.errors else 200)


@login_required
def claim_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(VehicleClaim.objects.select_related("vehicle"), pk=pk, user=request.user)
    if claim.confirmed_at is not None:
        return redirect("portal:garage")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.claim_confirm(claim=claim, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            messages.success(request, _("Your %(car)s is in your garage now.") % {"car": claim.vehicle})
            return redirect("portal:garage")
    expired = claim.expires_at <= timezone.now()
    return render(request, "portal/claim_code.html", {"form": form, "claim": claim, "expired": expired},
                  status=400 if form.errors else 200)


@require_POST
@login_required
def claim_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """A new code for the same car (the old one stops counting)."""
    claim = get_object_or_404(VehicleClaim.objects.select_related("vehicle"), pk=pk, user=request.user,
                              confirmed_at__isnull=True)
    try:
        again = services.claim_start(user=request.user, vin=claim.vehicle.vin)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("portal:claim_confirm", pk=pk)
    VehicleClaim.objects.filter(pk=claim.pk).update(expires_at=timezone.now())
    return redirect("portal:claim_confirm", pk=again.pk)


# --- Booking ---------------------------------------------------------------------------------------------

def book(request: HttpRequest) -> HttpResponse:
    """Choose the car, service, workshop and day, then one of the day's free times. Asking for the times
    and booking are the same form, so nothing chosen is lost between them; the form opens on the first day
    with a free time. Someone not signed in books as a guest (``guest_start``)."""
    if not request.user.is_authenticated:
        return guest_start(request)
    initial = {"vehicle": request.GET.get("car"), "declined": request.GET.get("declined")}
    form = BookForm(request.POST or None, user=request.user, initial=initial)
    if not form.is_bound and (rooftop := form.fields["rooftop"].queryset.first()) is not None:
        days = booking.free_days(rooftop, form.fields["service_type"].queryset.first(), limit=1)
        form.initial["day"] = days[0] if days else timezone.localdate() + timedelta(days=1)
    if request.method == "POST" and request.POST.get("action") == "book" and form.is_valid():
        data = form.cleaned_data
        if data["slot"] is None:
            form.add_error("slot", _("Choose a time."))
        else:
            try:
                appointment = booking.owner_book(user=request.user, vehicle=data["vehicle"], slot=data["slot"],
                                                 service_type=data["service_type"], advisor=data["advisor"],
                                                 comment=data["comment"], declined=data["declined"])
            except ValidationError as error:
                form.add_error("slot", error)
            else:
                return redirect("portal:appointment_booked", pk=appointment.pk)
    parts = []
    if (rooftop := form.value_before_clean("rooftop")) is not None:
        parts = booking.times_by_part_of_day(form.fields["slot"].queryset, rooftop)
    return render(request, "portal/book.html", {"form": form, "parts": parts}, status=400 if form.errors else 200)


@login_required
def appointment_booked(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner's booking, confirmed, with the appointment for their calendar."""
    appointment = _own_appointment(request, pk)
    return render(request, "portal/booked.html", {
        "appointment": appointment, "when": _when(appointment),
        "calendar_url": reverse("portal:appointment_ics", args=[appointment.pk])})


@login_required
def appointment_calendar(request: HttpRequest, pk: int) -> HttpResponse:
    return _ics(_own_appointment(request, pk))


def _ics(appointment: Appointment) -> HttpResponse:
    response = HttpResponse(appointment_ics(appointment), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return response


# --- Booking without an account: three screens ------------------------------------------------------------

GUEST_SESSION_KEY = "guest_bookings"


def guest_start(request: HttpRequest) -> HttpResponse:
    """The car, the service and the mobile number on file: a code goes to that number."""
    form = GuestStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if enquiry_rate_exceeded(request):
            form.add_error(None, _("Too many requests from your network. Please try again later, or call us."))
        else:
            data = form.cleaned_data
            try:
                started = guest.guest_booking_start(raw_number=data["number"], car=data["car"],
                                                    service_type=data["service_type"], rooftop=data["rooftop"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                # Only this browser may go on with it: the token names it, the session holds it.
                request.session[GUEST_SESSION_KEY] = [*request.session.get(GUEST_SESSION_KEY, [])[-4:],
                                                      started.token]
                return redirect("portal:guest_times", token=started.token)
    return render(request, "portal/guest_start.html", {"form": form}, status=400 if form.errors else 200)


def _guest_booking(request: HttpRequest, token: str) -> GuestBooking:
    if token not in request.session.get(GUEST_SESSION_KEY, []):
        raise Http404
    return get_object_or_404(GuestBooking.objects.select_related("rooftop", "service_type", "vehicle"), token=token)


@never_cache
def guest_times(request: HttpRequest, token: str) -> HttpResponse:
    """The code we texted and a time: the day opens on the first with a free time; the next ones are a tap away."""
    started = _guest_booking(request, token)
    if started.appointment_id is not None:
        return redirect("portal:guest_booked", token=token)
    rooftop, service_type = started.rooftop, started.service_type
    days = booking.free_days(rooftop, service_type)
    asked = day_from(request.POST.get("day") or request.GET.get("day") or "")
    day = asked if asked is not None and booking.bookable_day(asked) else (days[0] if days else None)
    slots = booking.free_slots(rooftop, day, service_type) if day else Slot.objects.none()
    form = GuestTimeForm(request.POST or None, slots=slots)
    if request.method == "POST" and form.is_valid():
        try:
            guest.guest_booking_confirm(booking=started, code=form.cleaned_data["code"],
                                        slot=form.cleaned_data["slot"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("portal:guest_booked", token=token)
    return render(request, "portal/guest_times.html", {
        "form": form, "started": started, "day": day, "days": days,
        "parts": booking.times_by_part_of_day(slots, rooftop), "sent_to": services.masked_phone(started.number),
    }, status=400 if form.errors else 200)


def guest_booked(request: HttpRequest, token: str) -> HttpResponse:
    started = _guest_booking(request, token)
    if started.appointment_id is None:
        return redirect("portal:guest_times", token=token)
    appointment = Appointment.objects.select_related("slot", "rooftop", "service_type", "vehicle").get(
        pk=started.appointment_id)
    return render(request, "portal/booked.html", {
        "appointment": appointment, "when": _when(appointment), "guest": True,
        "calendar_url": reverse("portal:guest_calendar", args=[token])})


def guest_calendar(request: HttpRequest, token: str) -> HttpResponse:
    started = _guest_booking(request, token)
    if started.appointment_id is None:
        raise Http404
    return _ics(Appointment.objects.select_related("slot", "rooftop", "service_type", "vehicle").get(
        pk=started.appointment_id))


def _when(appointment: Appointment) -> str:
    tz = zoneinfo.ZoneInfo(appointment.rooftop.timezone)
    return date_format(timezone.localtime(appointment.slot.starts_at, tz), "SHORT_DATETIME_FORMAT")


def _own_appointment(request: HttpRequest, pk: int) -> Appointment:
    return get_object_or_404(booking.owner_appointments(request.user), pk=pk)


@require_POST
@login_required
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _own_appointment(request, pk)
    try:
        booking.owner_cancel(user=request.user, appointment=appointment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your appointment on %(when)s is cancelled.") % {"when": _when(appointment)})
    return redirect("portal:garage")


@login_required
def appointment_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Another time for the same service and car, at the same workshop."""
    appointment = _own_appointment(request, pk)
    rooftop = appointment.rooftop
    local = timezone.localtime(appointment.slot.starts_at, zoneinfo.ZoneInfo(rooftop.timezone))
    asked = request.POST.get("day") or request.GET.get("day")
    day = (day_from(asked) or timezone.localdate()) if asked else local.date()
    if not booking.bookable_day(day):
        day = timezone.localdate()
    # Within its own day the appointment's hours are already counted: only another day's hours are checked.
    slots = booking.free_slots(rooftop, day, appointment.service_type if day != local.date() else None)
    if request.method == "POST" and request.POST.get("slot"):
        slot = slots.filter(pk=slot_id).first() if (slot_id := id_from(request.POST["slot"])) is not None else None
        if slot is None:
            messages.error(request, _("That time is no longer free; choose another."))
        else:
            try:
                moved = booking.owner_move(user=request.user, appointment=appointment, slot=slot)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("Moved to %(when)s.") % {"when": _when(moved)})
                return redirect("portal:garage")
    tz = zoneinfo.ZoneInfo(rooftop.timezone)
    times = [(slot.pk, timezone.localtime(slot.starts_at, tz)) for slot in slots]
    return render(request, "portal/move.html", {"appointment": appointment, "day": day, "times": times,
                                                "when": _when(appointment)})


# --- Profile and privacy ---------------------------------------------------------------------------------

@login_required
def profile(request: HttpRequest) -> HttpResponse:
    person = privacy.customer_of(request.user)
    if person is None:
        return render(request, "portal/profile.html", {"person": None, "deletion_form": DeletionForm()})
    phone = person.phones.order_by("-is_primary", "pk").first()
    initial = {"given_name": person.given_name, "family_name": person.family_name, "address": person.address,
               "preferred_language": person.preferred_language or request.LANGUAGE_CODE,
               "phone": phone.number if phone else "", **privacy.preferences(person)}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            privacy.profile_save(user=request.user, person=person, phone=data["phone"], fields={
                name: data[name] for name in ("given_name", "family_name", "address", "preferred_language")},
                wanted={field.name: data[field.name] for field in form.preference_fields()})
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Thank you: your details and choices are saved."))
            return redirect("portal:profile")
    return render(request, "portal/profile.html", {"person": person, "form": form, "deletion_form": DeletionForm()},
                  status=400 if form.errors else 200)


@login_required
def profile_export(request: HttpRequest) -> HttpResponse:
    """Everything we hold about the owner, as a JSON file to keep."""
    response = JsonResponse(privacy.data_export(request.user), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="my-data-{timezone.localdate():%Y-%m-%d}.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def profile_delete(request: HttpRequest) -> HttpResponse:
    form = DeletionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm that you want your data deleted."))
        return redirect("portal:profile")
    privacy.deletion_request(user=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, _("Your request is with us. We will delete your data as the law allows and tell "
                                "you within a month."))
    return redirect("portal:profile")


# --- Invitations ---------------------------------------------------------------------------------------

@require_POST
@staff_required(*ALL_STAFF_ROLES)
def invitation_send(request: HttpRequest, person_pk: int) -> HttpResponse:
    """From the customer's page in the CRM: e-mail them a link to open their owner account."""
    person = get_object_or_404(Person.objects.active(), pk=person_pk)
    try:
        invitation = invitations.invitation_send(person=person, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("customers:detail", pk=person.pk)


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = invitations.invitation_for(token)
    if found is None:
        return render(request, "portal/invitation_unknown.html", status=404)
    form = InvitationForm(request.POST or None) if not request.user.is_authenticated else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            owner = invitations.invitation_accept(invitation=found, user=request.user,
                                                  password=form.cleaned_data["password1"] if form else "")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if not request.user.is_authenticated:
                login(request, owner, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your account is connected to your customer record."))
            return redirect("portal:garage")
    return render(request, "portal/invitation.html", {"invitation": found, "form": form},
                  status=400 if form is not None and form.errors else 200)


# --- Deletion requests, for dealer admins -----------------------------------------------------------------

@staff_required(StaffRole.DEALER_ADMIN)
def deletion_requests(request: HttpRequest) -> HttpResponse:
    """Owners' requests to be deleted, open ones first; each handled under the group's retention rules."""
    rows = DeletionRequest.objects.select_related("person", "user").order_by(F("handled_at").asc(nulls_first=True),
                                                                             "-requested_at")
    return render(request, "portal/deletion_requests.html", {"active_module": "settings", "requests": rows[:200]})


@require_POST
@staff_required(StaffRole.DEALER_ADMIN)
def deletion_request_handled(request: HttpRequest, pk: int) -> HttpResponse:
    if DeletionRequest.objects.filter(pk=pk, handled_at__isnull=True).update(handled_at=timezone.now()):
        messages.success(request, _("Marked as handled."))
    return redirect("portal:deletion_requests")


# --- Refer a friend --------------------------------------------------------------------------------------

@login_required
def refer(request: HttpRequest) -> HttpResponse:
    """The owner's personal link and code, ways to share them, and how each referral is doing."""
    if not hasattr(request.user, "customer_link"):
        return render(request, "portal/refer.html", {"linked": False})
    code = referrals.referral_code(request.user)
    link = request.build_absolute_uri(reverse("referral_landing", args=[code.code]))
    text = _("I get my car serviced at %(dealer)s and can recommend them: %(link)s") % {
        "dealer": request.tenant.name, "link": link}
    share = {"email": f"mailto:?subject={quote(str(request.tenant.name))}&body={quote(text)}",
             "whatsapp": f"https://wa.me/?text={quote(text)}",
             "telegram": f"https://t.me/share/url?url={quote(link)}&text={quote(text)}"}
    return render(request, "portal/refer.html", {
        "linked": True, "code": code.code, "link": link, "share": share, "referrals": referrals.referrals(request.user),
        "wechat_qr": qr_svg(link, label=_("QR code of your link, to scan with WeChat"))})


@never_cache
def referral(request: HttpRequest, code: str) -> HttpResponse:
    """The friend's page: the dealer's enquiry form, counted as the owner's recommendation."""
    if referrals.referrer_for(code) is None:
        return render(request, "portal/referral_unknown.html", status=404)
    form = EnquiryForm(request.POST or None)
    if request.method == "POST":
        if form.spam_reason():
            return render(request, "portal/referral_thanks.html")
        if form.is_valid():
            if enquiry_rate_exceeded(request):  # one allowance with the enquiry form, per network and group
                return render(request, "sales/enquiry/limited.html", status=429)
            try:
                referrals.referral_receive(code=code, enquiry=form.enquiry(language=translation.get_language()))
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                return render(request, "portal/referral_thanks.html")
    heading = _("A friend recommends us: what can we do for you?")
    return render(request, "sales/enquiry/form.html", {"form": form, "embed": False, "heading": heading},
                  status=400 if form.errors else 200)
