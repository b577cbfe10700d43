"""The club in the CRM: members with their tier and balance, points adjustments with a reason, the
voucher counter (check a code, redeem it once) and the club's rules."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from crm.core.access import staff_required
from crm.customers.models import Person

from . import selectors, services
from .forms import AdjustForm, ClubRulesForm, RedeemForm, RewardFormSet, TierFormSet, VoucherFindForm
from .models import ClubRules, Membership, Tier, Voucher

ALL_STAFF = tuple(StaffRole.values)
# Who may give or take points and withdraw vouchers: the people answerable for the club's cost.
ADJUSTERS = (StaffRole.DEALER_ADMIN, StaffRole.MARKETING, StaffRole.SERVICE_MANAGER)
RULE_MAKERS = (StaffRole.DEALER_ADMIN, StaffRole.MARKETING)
PAGE_SIZE = 50


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"active_module": "loyalty", **context}, status=status)


@staff_required(*ALL_STAFF)
def member_list(request: HttpRequest) -> HttpResponse:
    rules = ClubRules.current()
    tiers = list(Tier.objects.all())
    query = request.GET.get("q", "")[:100]
    tier = next((t for t in tiers if str(t.pk) == request.GET.get("tier")), None)
    page = Paginator(selectors.members(rules, tiers, query=query, tier=tier), PAGE_SIZE).get_page(
        request.GET.get("page"))
    rows = [(membership, selectors.tier_for(membership.tier_value, tiers)[0]) for membership in page]
    return _page(request, "loyalty/members.html", {
        "rules": rules, "tiers": tiers, "tier": tier, "query": query, "page": page, "rows": rows,
        "total": Membership.objects.filter(left_at__isnull=True).count()})


def _member_context(person: Person, rules: ClubRules) -> dict:
    return {"person": person, "card": selectors.card(person.pk, rules), "rules": rules,
            "left": Membership.objects.filter(person=person, left_at__isnull=False).first()}


@staff_required(*ALL_STAFF)
def member_detail(request: HttpRequest, person_pk: int) -> HttpResponse:
    person = get_object_or_404(Person.objects.filter(club_membership__isnull=False), pk=person_pk)
    context = _member_context(person, ClubRules.current())
    context["can_adjust"] = request.user.role in ADJUSTERS
    context["form"] = AdjustForm()
    return _page(request, "loyalty/member.html", context)


@require_POST
@staff_required(*ADJUSTERS)
def points_adjust(request: HttpRequest, person_pk: int) -> HttpResponse:
    person = get_object_or_404(Person.objects.filter(club_membership__isnull=False), pk=person_pk)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            services.points_adjust(person=person, points=form.cleaned_data["points"],
                                   reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Points changed by %(points)+d.") % {"points": form.cleaned_data["points"]})
            return redirect("loyalty:member", person_pk=person.pk)
    context = _member_context(person, ClubRules.current())
    context.update(can_adjust=True, form=form)
    return _page(request, "loyalty/member.html", context, status=400)


@staff_required(*ALL_STAFF)
def card_lookup(request: HttpRequest, number: str) -> HttpResponse:
    """Where the QR code on a member's card leads: the member in the CRM (staff only)."""
    membership = get_object_or_404(Membership, number=number)
    return redirect("loyalty:member", person_pk=membership.person_id)


@staff_required(*ALL_STAFF)
def voucher_check(request: HttpRequest) -> HttpResponse:
    form = VoucherFindForm(request.GET or None)
    voucher = problem = None
    status = 200
    if form.is_valid():
        voucher = services.voucher_find(form.cleaned_data["code"])
        if voucher is None:
            form.add_error("code", _("No voucher has this code. Check the letters: codes have no 0, O, 1 or I."))
            status = 404
        else:
            problem = services.voucher_problem(voucher)
    return _page(request, "loyalty/vouchers.html", {
        "form": form, "voucher": voucher, "problem": problem, "redeem_form": RedeemForm(),
        "can_cancel": request.user.role in ADJUSTERS}, status=status)


@require_POST
@staff_required(*ALL_STAFF)
def voucher_redeem(request: HttpRequest, pk: int) -> HttpResponse:
    voucher = get_object_or_404(Voucher, pk=pk)
    form = RedeemForm(request.POST)
    rooftop = form.cleaned_data["rooftop"] if form.is_valid() else None
    try:
        services.voucher_redeem(voucher=voucher, by=request.user, rooftop=rooftop)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Voucher %(code)s used: %(what)s.") % {"code": voucher.code,
                                                                           "what": voucher.description})
    return redirect(f"{reverse('loyalty:vouchers')}?{urlencode({'code': voucher.code})}")


@require_POST
@staff_required(*ADJUSTERS)
def voucher_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    voucher = get_object_or_404(Voucher, pk=pk)
    try:
        services.voucher_cancel(voucher=voucher, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Voucher %(code)s cancelled.") % {"code": voucher.code})
    return redirect("loyalty:member", person_pk=voucher.person_id)


@staff_required(*RULE_MAKERS)
def rules_edit(request: HttpRequest) -> HttpResponse:
    rules = ClubRules.current()
    data = request.POST if request.method == "POST" else None
    form = ClubRulesForm(data, instance=rules)
    tiers = TierFormSet(data, prefix="tiers")
    rewards = RewardFormSet(data, prefix="rewards")
    if data is not None and form.is_valid() and tiers.is_valid() and rewards.is_valid():
        with transaction.atomic():
            if form.has_changed() and "terms" in form.changed_data:
                rules.terms_version += 1
            form.save()
            tiers.save()
            rewards.save()
        messages.success(request, _("Club rules saved."))
        return redirect("loyalty:rules")
    return _page(request, "loyalty/rules.html", {"form": form, "tiers": tiers, "rewards": rewards},
                 status=400 if data is not None else 200)

