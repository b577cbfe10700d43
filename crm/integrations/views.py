"""Settings → API keys and Webhooks: dealer admins make and revoke keys (each shown once), register
webhook URLs, read each one's delivery log and send a delivery again."""

import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import StaffRole
from crm.core.access import staff_required

from . import webhooks
from .forms import ApiKeyForm, WebhookForm
from .keys import key_create, key_revoke
from .models import ApiKey, Module, WebhookDelivery, WebhookEndpoint

admin_only = staff_required(StaffRole.DEALER_ADMIN)
MODULE_LABELS = dict(Module.choices)


def _scope_labels(key: ApiKey) -> list[str]:
    labels = []
    for scope in key.scopes:
        module, access = scope.split(":")
        labels.append(_("%(module)s: read and write") % {"module": MODULE_LABELS.get(module, module)}
                      if access == "write" else _("%(module)s: read") % {"module": MODULE_LABELS.get(module, module)})
    return labels


@admin_only
def key_list(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        key, plain = key_create(name=data["name"], scopes=form.scopes(), by=request.user, system=data["system"],
                                rate_per_minute=data["rate_per_minute"])
        # Shown on this answer only: it is not stored, and a reload does not show it again.
        return render(request, "integrations/key_created.html", {"key": key, "plain": plain,
                                                                  "active_module": "settings"})
    keys = [(key, _scope_labels(key)) for key in ApiKey.objects.select_related("created_by")]
    return render(request, "integrations/keys.html", {"form": form, "keys": keys, "active_module": "settings"},
                  status=422 if request.method == "POST" else 200)


@admin_only
@require_POST
def key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    key = key_revoke(key=get_object_or_404(ApiKey, pk=pk), by=request.user)
    messages.success(request, _("The key %(key)s is revoked: requests with it are refused from now on.") % {"key": key})
    return redirect("integrations:keys")


@admin_only
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(commit=False)
        endpoint.secret, endpoint.created_by = secrets.token_hex(32), request.user
        endpoint.save()
        messages.success(request, _("Webhook added. Check signatures with the secret shown on its page."))
        return redirect("integrations:webhook", pk=endpoint.pk)
    endpoints = WebhookEndpoint.objects.annotate(
        failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
        waiting=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)))
    return render(request, "integrations/webhooks.html", {"form": form, "endpoints": endpoints,
                                                          "active_module": "settings"},
                  status=422 if request.method == "POST" else 200)


@admin_only
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = WebhookForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Webhook saved."))
        return redirect("integrations:webhook", pk=endpoint.pk)
    status = request.GET.get("status", "")
    deliveries = endpoint.deliveries.order_by("-created_at", "-pk")
    if status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries.defer("body"), 25).get_page(request.GET.get("page"))
    return render(request, "integrations/webhook.html", {
        "endpoint": endpoint, "form": form, "page": page, "status": status,
        "statuses": WebhookDelivery.Status.choices, "active_module": "settings"},
        status=422 if request.method == "POST" else 200)


@admin_only
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    return render(request, "integrations/delivery.html", {"delivery": delivery, "active_module": "settings"})


@admin_only
@require_POST
def delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    webhooks.replay(delivery)
    messages.success(request, _("Sending it again; the result appears in the log in a moment."))
    return redirect("integrations:webhook", pk=delivery.endpoint_id)
