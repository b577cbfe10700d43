"""Online sign-up: details, card through a SetupIntent, provisioning, first sign-in; nothing left on failure."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import stripe
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_exists

from tenants.billing.services import as_dict, client
from tenants.billing.signup import provision, signups_cleanup
from tenants.models import BillingEmail, DealerGroup, DealerGroupStatus, Plan, Signup
from tenants.templatetags.billing import money

pytestmark = pytest.mark.django_db

DETAILS = {"name": "Nord Autohaus Gruppe", "country": "DE", "language": "de", "rooftops": "2", "slug": "nord-auto",
           "admin_email": "Chefin@Nord-Auto.test", "password": "tall-trees-and-rivers", "plan": "group",
           "interval": "month"}


def _public() -> Client:
    return Client(HTTP_HOST=settings.APP_DOMAIN)


def _start(browser: Client, **changes: str):
    return browser.post("/signup/", {**DETAILS, "language": "en", **changes})


def _confirm_card(signup: Signup, test_card: str = "pm_card_visa") -> None:
    """What Stripe.js does in the browser: confirm the SetupIntent with the card typed in."""
    client().v1.setup_intents.confirm(signup.setup_intent_id, params={"payment_method": test_card})


def test_a_dealer_group_signs_up_and_lands_signed_in_in_its_trial(cast, stripe_plans,
                                                                  django_capture_on_commit_callbacks):
    browser = _public()

    started = _start(browser)
    signup = Signup.objects.get(slug="nord-auto")
    assert started["Location"] == f"/signup/{signup.pk}/card/"
    card_page = browser.get(started["Location"])
    assert "Group for 2 rooftops." in card_page.text and 'data-client-secret="seti_' in card_page.text
    _confirm_card(signup)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        submitted = browser.post(started["Location"], {"setup_intent": signup.setup_intent_id})
    assert submitted["Location"] == f"/signup/{signup.pk}/" and len(queued) == 1
    assert "Creating your CRM" in browser.get(f"/signup/{signup.pk}/status/").text

    provision(str(signup.pk))  # what the Celery task does

    group = DealerGroup.objects.get(slug="nord-auto")
    assert (group.status, group.plan.code, group.rooftops_paid, group.country) == (DealerGroupStatus.TRIAL, "group",
                                                                                   2, "DE")
    assert (group.timezone, group.currency) == ("Europe/Berlin", "EUR")
    stripe_side = as_dict(client().v1.subscriptions.retrieve(group.stripe_subscription_id))
    assert stripe_side["trial_end"] > timezone.now().timestamp() + 13 * 86400 and stripe_side["quantity"] == 2
    assert BillingEmail.objects.filter(dealer_group=group, kind="welcome").exists()
    status = browser.get(f"/signup/{signup.pk}/status/")
    link = status["HX-Redirect"]
    assert link.startswith("http://nord-auto.localhost/signup/welcome/")

    tenant = Client(HTTP_HOST=group.primary_host)
    landed = tenant.get(link.split("localhost", 1)[1])
    assert landed["Location"] == "/crm/"
    assert tenant.get("/crm/").status_code == 200  # signed in as the new admin
    # The two rooftops it said it has are there, named after it, to rename.
    rooftops = tenant.get("/crm/settings/rooftops/").text
    assert "Nord Autohaus Gruppe 1" in rooftops and "Nord Autohaus Gruppe 2" in rooftops
    again = Client(HTTP_HOST=group.primary_host).get(link.split("localhost", 1)[1])
    assert again["Location"].startswith("/accounts/login/")  # single use
    assert browser.get(f"/signup/{signup.pk}/status/").status_code == 404  # the link is handed out once
    assert Client(HTTP_HOST=group.primary_host).post("/accounts/login/", {
        "login": "chefin@nord-auto.test", "password": DETAILS["password"]}).status_code == 302


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"slug": "www"}, "slug", "is reserved"),
    ({"slug": "alpha"}, "slug", "is already taken"),
    ({"slug": "No_Good!"}, "slug", "lowercase letters"),
    ({"password": "1234"}, "password", "too short"),
    ({"plan": "starter", "rooftops": "5"}, "rooftops", "Starter covers up to 2 rooftops"),
])
def test_bad_details_are_refused_field_by_field_and_nothing_is_made(cast, stripe_plans, changes, field, message):
    customers_before = len(client().v1.customers.list(params={"email": DETAILS["admin_email"].lower()}).data)

    response = _start(_public(), **changes)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Signup.objects.exists()
    assert len(client().v1.customers.list(params={"email": DETAILS["admin_email"].lower()}).data) == customers_before


def test_the_address_is_checked_live(cast):
    browser = _public()

    assert "is available" in browser.get("/signup/address/", {"slug": "Kilo-Motors"}).text
    assert "already taken" in browser.get("/signup/address/", {"slug": "alpha"}).text
    assert "reserved" in browser.get("/signup/address/", {"slug": "api"}).text


def test_a_declined_card_makes_nothing_and_the_abandoned_sign_up_is_cleaned_away(cast, stripe_plans):
    browser = _public()
    _start(browser, slug="lima-cars")
    signup = Signup.objects.get(slug="lima-cars")

    with pytest.raises(stripe.CardError):
        _confirm_card(signup, "pm_card_visa_chargeDeclined")
    refused = browser.post(f"/signup/{signup.pk}/card/", {"setup_intent": "seti_forged"}, follow=True)

    assert "The card was not confirmed" in refused.text
    assert Signup.objects.get(pk=signup.pk).state == Signup.State.CARD
    assert not DealerGroup.objects.filter(slug="lima-cars").exists()
    Signup.objects.filter(pk=signup.pk).update(created_at=timezone.now() - timedelta(hours=3))

    assert signups_cleanup()["abandoned"] == 1
    assert Signup.objects.get(pk=signup.pk).state == Signup.State.ABANDONED
    with pytest.raises(stripe.InvalidRequestError):
        client().v1.customers.retrieve(signup.stripe_customer_id)


def test_a_subdomain_taken_while_the_card_was_entered_fails_cleanly(cast, stripe_plans):
    browser = _public()
    _start(browser, slug="mike-motors")
    signup = Signup.objects.get(slug="mike-motors")
    _confirm_card(signup)
    browser.post(f"/signup/{signup.pk}/card/", {"setup_intent": signup.setup_intent_id})
    customer = signup.stripe_customer_id
    Signup.objects.filter(pk=signup.pk).update(slug="alpha")  # someone else got there first

    failed = provision(str(signup.pk))

    assert failed.state == Signup.State.FAILED and "already taken" in failed.message
    assert "already taken" in browser.get(f"/signup/{signup.pk}/status/").text
    assert not schema_exists("t_mike_motors")
    with pytest.raises(stripe.InvalidRequestError):
        client().v1.customers.retrieve(customer)


def test_a_sign_up_is_seen_only_by_the_browser_that_started_it(cast, stripe_plans):
    browser = _public()
    _start(browser, slug="oscar-auto")
    signup = Signup.objects.get(slug="oscar-auto")
    stranger = _public()

    for path in ("card/", "", "status/"):
        assert stranger.get(f"/signup/{signup.pk}/{path}").status_code == 404
    assert browser.get(f"/signup/{signup.pk}/").status_code == 200


def test_sign_ups_from_one_network_are_limited(cast, stripe_plans, settings):
    settings.SIGNUP_RATE_PER_HOUR = 3
    browser = Client(HTTP_HOST=settings.APP_DOMAIN, REMOTE_ADDR=f"10.{time.time_ns() % 250}.7.9")
    for n in range(3):
        browser.post("/signup/", {**DETAILS, "language": "en", "slug": f"rate-{n}"})

    refused = browser.post("/signup/", {**DETAILS, "language": "en", "slug": "rate-last"})

    assert refused.status_code == 400 and "Too many sign-ups" in refused.text
    assert not Signup.objects.filter(slug="rate-last").exists()


def test_a_trial_about_to_end_sends_its_e_mail_once(cast, stripe_plans):
    import time as clock

    from tenants.billing.services import subscription_apply

    api = client()
    customer = api.v1.customers.create(params={"email": "admin@alpha.test"})
    subscription = api.v1.subscriptions.create(params={
        "customer": customer.id, "trial_end": int(clock.time()) + 2 * 86400,
        "items": [{"plan": "dealercrm-group-month-eur", "quantity": 2}]})
    group = DealerGroup.objects.get(pk=cast.a.pk)

    for _ in range(3):
        subscription_apply(group, as_dict(subscription))

    assert BillingEmail.objects.filter(dealer_group=group, kind="trial_ending").count() == 1


def test_a_sign_up_stuck_while_setting_up_is_failed_and_cleaned(cast, stripe_plans):
    browser = _public()
    _start(browser, slug="papa-stuck")
    signup = Signup.objects.get(slug="papa-stuck")
    _confirm_card(signup)
    browser.post(f"/signup/{signup.pk}/card/", {"setup_intent": signup.setup_intent_id})  # its worker never ran
    Signup.objects.filter(pk=signup.pk).update(updated_at=timezone.now() - timedelta(hours=3))

    signups_cleanup()

    signup = Signup.objects.get(pk=signup.pk)
    assert signup.state == Signup.State.FAILED and "did not finish" in signup.message
    assert "did not finish" in browser.get(f"/signup/{signup.pk}/status/").text


def test_stripe_unreachable_at_the_start_says_so_and_does_not_hold_the_address(cast, stripe_plans, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    down = _start(_public(), slug="romeo-cars")

    assert down.status_code == 400 and "could not be reached" in down.text
    assert Signup.objects.get(slug="romeo-cars").state == Signup.State.FAILED
    settings.STRIPE_API_BASE = stripe_plans_url()
    assert _start(_public(), slug="romeo-cars").status_code == 302


def stripe_plans_url() -> str:
    import os

    return os.environ["STRIPE_API_BASE"]


def test_provisioning_run_again_after_a_crash_finishes_with_the_group_it_made(cast, stripe_plans):
    from tenants.services import dealer_group_create

    browser = _public()
    _start(browser, slug="sierra-auto")
    signup = Signup.objects.get(slug="sierra-auto")
    _confirm_card(signup)
    browser.post(f"/signup/{signup.pk}/card/", {"setup_intent": signup.setup_intent_id})
    # The first run died right after making the tenant.
    dealer_group_create(name=signup.name, slug="sierra-auto", country="DE", admin_email=signup.admin_email,
                        admin_password=None)

    done = provision(str(signup.pk))

    assert done.state == Signup.State.DONE, done.message
    group = DealerGroup.objects.get(slug="sierra-auto")
    assert group.status == DealerGroupStatus.TRIAL and group.stripe_subscription_id


@pytest.mark.parametrize(("interval", "per"), [("month", "a month"), ("year", "a year")])
def test_the_card_page_says_what_the_group_will_pay_and_when_before_the_card(cast, stripe_plans, interval, per):
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        browser = _public()
        started = _start(browser, interval=interval)
        page = browser.get(started["Location"]).text
    plan = Plan.objects.get(code="group")
    unit = plan.unit_price(interval)
    assert f"{money(unit, plan.currency)} {per}" in page  # per rooftop
    assert f"{money(2 * unit, plan.currency)} {per}" in page  # for the two rooftops asked for
    first_charge = (datetime(2026, 3, 1) + timedelta(days=plan.trial_days)).strftime("%B %-d, %Y")
    assert first_charge in page and page.index("Total") < page.index('id="card-form"')
