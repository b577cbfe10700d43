"""The public pricing page, the Stripe webhook, and the dealer admin's billing page."""

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from config.celery import enqueue_on_commit

from ..models import DealerGroup, Plan, StripeEvent
from . import account, data_export
from .access import data_kept_until
from .forms import PlanChangeForm
from .tasks import stripe_event_process

log = logging.getLogger(__name__)


@require_GET
def pricing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/pricing.html", {"plans": Plan.objects.filter(is_public=True)})


# Webhook -----------------------------------------------------------------------------------------

@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Record a verified Stripe event once and have a task apply it. A bad signature changes nothing."""
    payload = request.body.decode("utf-8", errors="replace")
    try:
        stripe.WebhookSignature.verify_header(payload, request.headers.get("Stripe-Signature", ""),
                                              settings.STRIPE_WEBHOOK_SECRET, tolerance=300)
        event = json.loads(payload)
        event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError):
        return JsonResponse({"error": {"code": "bad_signature", "message": "The signature does not verify."}},
                            status=400)
    group = _group_of(obj)
    with transaction.atomic():
        _row, created = StripeEvent.objects.get_or_create(pk=event_id, defaults={"type": event_type,
                                                                                 "dealer_group": group})
        if created:
            enqueue_on_commit(stripe_event_process, event_id)
    return JsonResponse({"received": True, "duplicate": not created})


def _group_of(obj: dict[str, Any]) -> DealerGroup | None:
    """The dealer group an event's object belongs to: by subscription, else by customer."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("object")
    subscription = obj.get("id") if kind == "subscription" else obj.get("subscription")
    if not subscription and kind == "invoice":
        subscription = ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    if isinstance(subscription, dict):
        subscription = subscription.get("id")
    customer = obj.get("id") if kind == "customer" else obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    groups = DealerGroup.objects.all()
    if subscription and (group := groups.filter(stripe_subscription_id=subscription).first()):
        return group
    return groups.filter(stripe_customer_id=customer).first() if customer else None


# The billing page (tenant host) ------------------------------------------------------------------

def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only the dealer group's admins see and change its billing."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request.user, "role", "") != "dealer_admin":
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _group(request: HttpRequest) -> DealerGroup:
    return DealerGroup.objects.select_related("plan").get(pk=connection.tenant.pk)


@admin_required
def billing_page(request: HttpRequest, change_form: PlanChangeForm | None = None, status: int = 200) -> HttpResponse:
    group = _group(request)
    overview = account.overview(group)
    export = data_export.latest(group)
    kept_until = data_kept_until(group)
    return render(request, "billing/page.html", status=status, context={
        "group": group, "overview": overview, "active_module": "billing",
        "change_form": change_form or PlanChangeForm(group=group),
        "stripe_js_url": settings.STRIPE_JS_URL, "stripe_key": settings.STRIPE_PUBLISHABLE_KEY,
        "retention_days": settings.BILLING_RETENTION_DAYS,
        "data_kept_until": kept_until,
        "days_to_purge": max((kept_until - timezone.now()).days, 0) if kept_until else None,
        "export": export,
        "export_link": data_export.link_token(export) if export and export.state == export.State.READY else "",
    })


def _act(request: HttpRequest, action: Callable[[], str]) -> HttpResponse:
    try:
        messages.success(request, action())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except stripe.StripeError as error:
        log.warning("billing action failed for %s: %s", connection.tenant.slug, error)
        messages.error(request, error.user_message or _("Stripe could not complete this. Please try again."))
    return redirect("billing:page")


@require_POST
@admin_required
def plan_change(request: HttpRequest) -> HttpResponse:
    group = _group(request)
    form = PlanChangeForm(request.POST, group=group)
    if not form.is_valid():
        return billing_page(request, change_form=form, status=400)
    return _act(request, lambda: account.plan_change(group, **form.cleaned_data))


@require_POST
@admin_required
def cancel(request: HttpRequest) -> HttpResponse:
    return _act(request, lambda: account.cancel_at_period_end(_group(request), cancel=True))


@require_POST
@admin_required
def resume(request: HttpRequest) -> HttpResponse:
    return _act(request, lambda: account.cancel_at_period_end(_group(request), cancel=False))


@require_POST
@admin_required
def card_setup(request: HttpRequest) -> JsonResponse:
    """A SetupIntent for a new card; the page confirms it with Stripe.js and posts it back."""
    try:
        return JsonResponse({"client_secret": account.card_setup_intent(_group(request))})
    except stripe.StripeError:
        return JsonResponse({"error": {"code": "stripe_unavailable",
                                       "message": _("Stripe could not be reached. Please try again.")}}, status=502)


@require_POST
@admin_required
def card_save(request: HttpRequest) -> HttpResponse:
    return _act(request, lambda: account.card_save(_group(request), request.POST.get("setup_intent", "")))


@require_POST
@admin_required
def reactivate(request: HttpRequest) -> HttpResponse:
    return _act(request, lambda: account.reactivate(_group(request)))


@require_POST
@admin_required
def data_export_request(request: HttpRequest) -> HttpResponse:
    def start() -> str:
        data_export.request_build(_group(request), by=request.user.email)
        return _("Your data is being prepared. We e-mail you when the download is ready.")

    return _act(request, start)


@require_GET
@admin_required
def data_export_download(request: HttpRequest, token: str) -> FileResponse:
    """The ZIP, to this group's dealer admins only: a link made on another group's host, or replaced, is a 404."""
    export = data_export.by_token(_group(request), token)
    if export is None or not default_storage.exists(export.file):
        raise Http404
    return FileResponse(default_storage.open(export.file, "rb"), as_attachment=True,
                        filename=f"{connection.tenant.slug}-data-{export.finished_at:%Y-%m-%d}.zip",
                        content_type="application/zip")
