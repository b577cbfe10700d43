"""The owners' club in the portal (/my/club/): join on the terms, the membership card with its QR code,
points and what they buy, vouchers, club events with an answer, club news. Each owner sees only their
own card; events are the dealer's club events, which any member may answer."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.customers.models import Person
from crm.loyalty import selectors as loyalty
from crm.loyalty import services as loyalty_services
from crm.loyalty.models import ClubRules, Reward
from crm.marketing import events

from . import club
from .forms import JoinForm, LeaveForm, RsvpForm
from .qr import qr_svg


def _club_news() -> list:
    from cms.selectors import club_news

    return club_news(limit=3)


def _render(request: HttpRequest, person_id: int | None, join_form: JoinForm | None = None,
            rsvp_errors: dict | None = None, leave_form: LeaveForm | None = None, status: int = 200) -> HttpResponse:
    rules = ClubRules.current()
    context: dict = {"rules": rules, "linked": person_id is not None, "tiers": club.tiers()}
    card = loyalty.card(person_id, rules) if person_id is not None else None
    if card is not None:
        lookup = request.build_absolute_uri(reverse("loyalty:card", args=[card.membership.number]))
        context.update(card=card, qr=qr_svg(lookup, label=_("Membership card %(number)s") % {
            "number": card.membership.number}), news=_club_news(),
            # Each event with the answer that failed on it, shown in its own form with what was typed.
            events=[(item, (rsvp_errors or {}).get(item.event.pk)) for item in club.club_events(person_id)],
            leave_form=leave_form or LeaveForm(),
            once=secrets.token_urlsafe(12))  # one voucher per button press, however often it is tapped
    else:
        context.update(join_form=join_form or JoinForm(initial={"terms_version": rules.terms_version}),
                       rewards=list(Reward.objects.filter(active=True)))
    return render(request, "portal/club.html", context, status=status)


@login_required
def club_home(request: HttpRequest) -> HttpResponse:
    return _render(request, club.club_person_id(request.user))


def _member_person(request: HttpRequest) -> Person:
    person_id = club.club_person_id(request.user)
    if person_id is None:
        raise Http404
    return Person.objects.get(pk=person_id)


@require_POST
@login_required
def club_join(request: HttpRequest) -> HttpResponse:
    person = _member_person(request)
    form = JoinForm(request.POST)
    if form.is_valid():
        try:
            loyalty_services.club_join(person=person, accepted_terms=True, by=request.user, source="portal",
                                       marketing_email=form.cleaned_data["marketing_email"],
                                       terms_version=form.cleaned_data["terms_version"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Welcome to the club! Your card is below."))
            return redirect("portal:club")
    return _render(request, person.pk, join_form=form, status=400)


@require_POST
@login_required
def club_leave(request: HttpRequest) -> HttpResponse:
    person = _member_person(request)
    form = LeaveForm(request.POST)
    if not form.is_valid():
        return _render(request, person.pk, leave_form=form, status=400)
    try:
        loyalty_services.club_leave(person=person, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("You have left the club. You are welcome back at any time."))
    return redirect("portal:club")


@require_POST
@login_required
def reward_redeem(request: HttpRequest, pk: int) -> HttpResponse:
    person = _member_person(request)
    reward = get_object_or_404(Reward, pk=pk, active=True)
    try:
        voucher = loyalty_services.reward_redeem(person=person, reward=reward, by=request.user,
                                                 once=request.POST.get("once", "")[:40])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your voucher for %(reward)s: %(code)s. Show it at the service desk.") % {
            "reward": reward.name, "code": voucher.code})
    return redirect(f"{reverse('portal:club')}#vouchers")


@require_POST
@login_required
def event_answer(request: HttpRequest, pk: int) -> HttpResponse:
    person = _member_person(request)
    if not club.is_member(person.pk):
        raise Http404
    event = club.club_event_for(pk)
    if event is None:
        raise Http404
    form = RsvpForm(request.POST)
    if form.is_valid():
        try:
            invitation = events.member_answer(event=event, person=person, coming=form.cleaned_data["coming"],
                                              guests=form.cleaned_data["guests"] or 0)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, {
                "accepted": _("You have a seat at %(event)s."),
                "waitlisted": _("%(event)s is full: you are on the waiting list and we will tell you when a seat "
                                "is free."),
                "declined": _("Thank you for letting us know: you are not coming to %(event)s."),
            }.get(invitation.status, _("Your answer is saved.")) % {"event": event.name})
            return redirect(f"{reverse('portal:club')}#events")
    return _render(request, person.pk, rsvp_errors={event.pk: form}, status=400)
