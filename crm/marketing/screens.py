"""Marketing screens (CRM): templates with a preview, campaigns with their audience, results and
controls, the sending rules. For marketing, dealer admins and the sales and service managers."""

from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.core.access import staff_required
from crm.sales.calllists import BUILDERS

from . import campaigns
from .channels import CONSENT_CHANNEL
from .forms import CampaignForm, SendingRulesForm, TemplateForm
from .models import Campaign, MessageTemplate, SendingRules, TemplateText
from .segments import criteria_describe, customers_matching
from .templating import MERGE_FIELDS, SAMPLE, merge

MARKETERS = BUILDERS
PAGE_SIZE = 25


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"active_module": "marketing", **context}, status=status)


@staff_required(*MARKETERS)
def campaign_list(request: HttpRequest) -> HttpResponse:
    rows = Campaign.objects.select_related("template").order_by("-created_at", "-pk")
    return _page(request, "marketing/campaigns.html", {"page": Paginator(rows, PAGE_SIZE).get_page(
        request.GET.get("page"))})


@staff_required(*MARKETERS)
def campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, initial={"saved_segment": request.GET.get("saved_segment")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaigns.campaign_create(name=data["name"], template=data["template"], by=request.user,
                                                 criteria=data["criteria"], rate_per_minute=data["rate_per_minute"],
                                                 scheduled_at=data["scheduled_at"],
                                                 attribution_days=data["attribution_days"] or 30,
                                                 cost_per_message=data["cost_per_message"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("marketing:campaign_detail", pk=campaign.pk)
    return _page(request, "marketing/campaign_form.html", {"form": form}, status=400 if form.errors else 200)


@staff_required(*MARKETERS)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("template", "created_by"), pk=pk)
    context: dict = {"campaign": campaign, "criteria": criteria_describe(campaign.criteria)}
    if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        # Before sending: who would get it now, and how many of them agreed to this channel and purpose.
        from django.utils import timezone

        from crm.customers.selectors import consent_granted

        audience = customers_matching(campaign.criteria).annotate(consented=consent_granted(
            channel=CONSENT_CHANNEL[campaign.template.channel], purpose=campaign.template.purpose, at=timezone.now()))
        context["audience"] = {"total": audience.count(), "consented": audience.filter(consented=True).count()}
        context["preview"] = list(audience.order_by("family_name_latin", "pk")[:10])
    else:
        context["results"] = campaigns.campaign_results(campaign)
        context["attribution"] = campaigns.campaign_attribution(campaign)
    return _page(request, "marketing/campaign_detail.html", context)


@require_POST
@staff_required(*MARKETERS)
def campaign_action(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        action = request.POST.get("action")
        if action == "cancel":
            campaigns.campaign_cancel(campaign=campaign, by=request.user)
            messages.success(request, _("Campaign cancelled: nobody else receives it."))
        elif action != "start":
            raise ValidationError(_("Choose what to do with the campaign."))
        else:
            campaign = campaigns.campaign_start(campaign=campaign, by=request.user)
            messages.success(request, _("Scheduled.") if campaign.status == Campaign.Status.SCHEDULED
                             else _("Sending has started; the figures below grow as messages go out."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("marketing:campaign_detail", pk=pk)


@staff_required(*MARKETERS)
def template_list(request: HttpRequest) -> HttpResponse:
    templates = MessageTemplate.objects.prefetch_related("texts").annotate(sent=Count("messages"))
    return _page(request, "marketing/templates.html", {"templates": templates})


@staff_required(*MARKETERS)
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    instance = get_object_or_404(MessageTemplate, pk=pk) if pk else MessageTemplate()
    form = TemplateForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            template = form.save()
            texts = form.texts()
            TemplateText.objects.filter(template=template).exclude(language__in=texts).delete()
            for language, (subject, body) in texts.items():
                TemplateText.objects.update_or_create(template=template, language=language,
                                                      defaults={"subject": subject, "body": body})
        messages.success(request, _("Template saved."))
        return redirect("marketing:template_edit", pk=template.pk)
    preview = []  # each written text with the sample customer's values in its merge fields
    for code, label in settings.LANGUAGES:
        subject, body = form[f"subject_{code}"].value() or "", form[f"body_{code}"].value() or ""
        if body.strip():
            preview.append((label, merge(subject, SAMPLE), merge(body, SAMPLE)))
    return _page(request, "marketing/template_form.html", {
        "form": form, "template": instance, "preview": preview, "fields": MERGE_FIELDS,
        "languages": settings.LANGUAGES}, status=400 if form.errors else 200)


@staff_required(*MARKETERS)
def sending_rules(request: HttpRequest) -> HttpResponse:
    form = SendingRulesForm(request.POST or None, instance=SendingRules.current())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Sending rules saved."))
        return redirect("marketing:rules")
    return _page(request, "marketing/rules.html", {"form": form}, status=400 if form.errors else 200)


# --- Events ------------------------------------------------------------------------------------------

@staff_required(*MARKETERS)
def event_list(request: HttpRequest) -> HttpResponse:
    from .models import Event

    rows = Event.objects.select_related("rooftop").annotate(
        invited=Count("invitations"),
        coming=Count("invitations", filter=Q(invitations__status="accepted")))
    return _page(request, "marketing/events.html", {"events": rows})


@staff_required(*MARKETERS)
def event_create(request: HttpRequest) -> HttpResponse:
    from .forms import EventForm

    form = EventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        event = form.save()
        return redirect("marketing:event_detail", pk=event.pk)
    return _page(request, "marketing/event_form.html", {"form": form}, status=400 if form.errors else 200)


@staff_required(*MARKETERS)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from . import events
    from .forms import InviteForm
    from .models import Event

    event = get_object_or_404(Event.objects.select_related("rooftop"), pk=pk)
    form = InviteForm(request.POST or None, initial={"recent_buyers": event.kind == Event.Kind.SECOND_DELIVERY})
    if request.method == "POST" and form.is_valid():
        people = (events.second_delivery_audience(event) if form.cleaned_data["recent_buyers"]
                  else customers_matching(form.cleaned_data["criteria"]))
        try:
            counts = events.invite(event=event, people=people, template=form.cleaned_data["template"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(invited)s invited; %(sent)s invitations sent, %(not_sent)s not sent "
                                        "(no consent, weekly cap or no address).") % counts)
            return redirect("marketing:event_detail", pk=pk)
    query = request.GET.get("q", "").strip()
    invitations = event.invitations.select_related("person").order_by("person__family_name_latin", "pk")
    if query:
        invitations = invitations.filter(person__search_text__icontains=query.lower())
    return _page(request, "marketing/event_detail.html", {
        "event": event, "figures": events.event_figures(event), "form": form, "query": query,
        "invitations": invitations[:200]}, status=400 if form.errors else 200)


@require_POST
@staff_required(*MARKETERS)
def event_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """At the door: whoever runs the event's list checks a guest in."""
    from . import events
    from .models import EventInvitation

    invitation = get_object_or_404(EventInvitation.objects.select_related("person"), pk=pk)
    try:
        events.check_in(invitation=invitation, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(name)s checked in.") % {"name": invitation.person})
    return redirect(f"{reverse('marketing:event_detail', args=[invitation.event_id])}?q="
                    f"{quote(request.POST.get('q', ''))}")
