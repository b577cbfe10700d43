"""A dealer group subscribes in a real browser: the wizard, Stripe.js (localstripe's stand-in), the
provisioning task on the Celery worker, and the first sign-in to its own CRM."""

import pytest
from django.conf import settings
from django.db import connection

from tenants.billing.services import client
from tenants.models import DealerGroup, DealerGroupStatus, Signup

pytestmark = [pytest.mark.browser]


def test_sign_up_with_a_card_and_land_signed_in_in_the_new_crm(cast, server_url, celery_worker, stripe_plans, page,
                                                               django_db_blocker):
    public = server_url.format(host=settings.APP_DOMAIN)
    page.goto(f"{public}/pricing/")
    page.click("a[href='/signup/?plan=starter']")

    page.fill("input[name=name]", "Papa Cars")
    page.select_option("select[name=country]", "DE")
    page.fill("input[name=rooftops]", "2")
    page.fill("input[name=slug]", "papa-cars")
    page.wait_for_selector("#slug-check >> text=is available")
    page.fill("input[name=admin_email]", "owner@papa-cars.test")
    page.fill("input[name=password]", "quiet-harbour-lights")
    page.click("button[type=submit]")

    page.wait_for_selector("#card-element input[placeholder=number]")
    for placeholder, value in (("number", "4000000000000002"), ("exp_month", "12"), ("exp_year", "30"),
                               ("cvc", "123"), ("postal_code", "10115")):
        page.fill(f'#card-element input[placeholder="{placeholder}"]', value)
    page.click("button[type=submit]")
    page.wait_for_selector("#card-errors >> text=Your card was declined.")  # and still on the card step

    page.fill('#card-element input[placeholder="number"]', "4242424242424242")
    page.click("button[type=submit]")

    page.wait_for_url("http://papa-cars.localhost:*/crm/", timeout=60_000)
    assert "Welcome! Your CRM is ready." in page.content()
    assert "Papa Cars" in page.locator("a.brand").inner_text()
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        group = DealerGroup.objects.get(slug="papa-cars")
        try:
            assert (group.status, group.plan.code, group.rooftops_paid) == (DealerGroupStatus.TRIAL, "starter", 2)
            assert Signup.objects.get(slug="papa-cars").login_token_used_at is not None
        finally:
            client().v1.subscriptions.cancel(group.stripe_subscription_id)
            group.delete(force_drop=True)
            Signup.objects.filter(slug="papa-cars").delete()
