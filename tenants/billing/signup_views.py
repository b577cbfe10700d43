"""The sign-up wizard on the public host, and the new admin's first sign-in on their tenant's host."""

from datetime import timedelta

import stripe
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.throttle import client_network, over_hourly_limit

from ..models import BillingInterval, DealerGroup, Plan, Signup
from . import signup as service
from .forms import SignupForm

SESSION_KEY = "signups"


def _mine(request: HttpRequest, pk: str) -> Signup:
    """A sign-up started in this browser session; anyone else's is a 404."""
    if str(pk) not in request.session.get(SESSION_KEY, []):
        raise Http404
    return Signup.objects.select_related("plan").get(pk=pk)


def signup_start(request: HttpRequest) -> HttpResponse:
    plan = Plan.objects.filter(code=request.GET.get("plan", ""), is_public=True).first()
    form = SignupForm(request.POST or None, initial={"plan": plan.code if plan else "group",
                                                     "language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid() and _too_many(request):
        form.add_error(None, _("Too many sign-ups from this network in the last hour. Please try again later."))
    elif request.method == "POST" and form.is_valid():
        try:
            signup = service.signup_start(**form.cleaned_data)
        except ValidationError as error:
            form.add_error("slug", error)
        except stripe.StripeError:
            form.add_error(None, _("The payment provider could not be reached. Please try again in a minute."))
        else:
            request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, [])[-4:], str(signup.pk)]
            return redirect("signup_card", pk=signup.pk)
    return render(request, "billing/signup/start.html", {"form": form}, status=400 if form.errors else 200)


def _too_many(request: HttpRequest) -> bool:
    """Each started sign-up makes a Stripe customer: a network gets a handful per hour."""
    from django.conf import settings

    return over_hourly_limit(f"signup-rate:{client_network(request)}", settings.SIGNUP_RATE_PER_HOUR)


@require_GET
def slug_check(request: HttpRequest) -> HttpResponse:
    """The live availability check under the address field (htmx)."""
    slug = request.GET.get("slug", "").strip().lower()
    if not slug:
        return HttpResponse("")
    try:
        slug = service.slug_available(slug)
    except ValidationError as error:
        return render(request, "billing/signup/slug.html", {"error": " ".join(error.messages)})
    return render(request, "billing/signup/slug.html", {"host": f"{slug}.{request.get_host().split(':')[0]}"})


def signup_card(request: HttpRequest, pk: str) -> HttpResponse:
    from django.conf import settings

    signup = _mine(request, pk)
    if signup.state != Signup.State.CARD:
        return redirect("signup_progress", pk=signup.pk)
    if request.method == "POST":
        if request.POST.get("setup_intent") != signup.setup_intent_id:
            messages.error(request, _("The card was not confirmed. Please enter it again."))
        else:
            service.signup_submit(signup)
            return redirect("signup_progress", pk=signup.pk)
    try:
        secret = service.setup_intent_secret(signup)
    except stripe.StripeError:
        messages.error(request, _("The payment provider could not be reached. Please try again in a minute."))
        secret = ""
    unit = signup.plan.unit_price(signup.interval)
    return render(request, "billing/signup/card.html", {
        "signup": signup, "client_secret": secret, "stripe_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL, "unit_price": unit, "total_price": unit * signup.rooftops,
        "yearly": signup.interval == BillingInterval.YEAR,
        "first_charge_on": timezone.localdate() + timedelta(days=signup.plan.trial_days)})


@require_GET
def signup_progress(request: HttpRequest, pk: str) -> HttpResponse:
    return render(request, "billing/signup/progress.html", {"signup": _mine(request, pk)})


@require_GET
def signup_status(request: HttpRequest, pk: str) -> HttpResponse:
    """Polled by the progress page; when the group is ready, sends the browser to it, signed in."""
    signup = _mine(request, pk)
    if signup.state == Signup.State.DONE and signup.dealer_group_id:
        group = DealerGroup.objects.get(pk=signup.dealer_group_id)
        port = request.get_port()
        base = f"{request.scheme}://{group.primary_host}" + (f":{port}" if port not in ("80", "443") else "")
        token = service.login_token_issue(signup)
        if token is None:  # the link was given once already: from now on, the normal sign-in
            return render(request, "billing/signup/status.html", {"signup": signup, "url": f"{base}/accounts/login/"})
        # The link is handed out once; this browser session has no more business with the sign-up.
        request.session[SESSION_KEY] = [k for k in request.session.get(SESSION_KEY, []) if k != str(signup.pk)]
        url = f"{base}/signup/welcome/{token}/"
        response = render(request, "billing/signup/status.html", {"signup": signup, "url": url})
        response["HX-Redirect"] = url
        return response
    return render(request, "billing/signup/status.html", {"signup": signup})


@require_POST
def signup_retry(request: HttpRequest, pk: str) -> HttpResponse:
    """After a failure, start again with the same details (the form, pre-filled, minus the password)."""
    signup = _mine(request, pk)
    return redirect(f"/signup/?plan={signup.plan.code}")


@require_GET
def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """On the new tenant's host: the single-use, short-lived link signs the first admin in."""
    email = service.login_token_redeem(token, connection.tenant)
    if email is None:
        messages.error(request, _("This sign-in link has expired or was already used. Please sign in."))
        return redirect("account_login")
    user = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return redirect("account_login")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, _("Welcome! Your CRM is ready. Start with your rooftops and staff in Settings."))
    return redirect("/crm/")
