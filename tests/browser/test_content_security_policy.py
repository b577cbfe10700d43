"""The Content-Security-Policy holds in a real browser: on the main screens of both hosts nothing is
refused, and what runs under it (htmx, the card form's Stripe.js, Wagtail's editor, the language
switcher) still works. The ``page`` fixture fails a test on any violation reported on any page."""

import pytest
from django.conf import settings
from django_tenants.utils import schema_context
from wagtail.models import Page

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_the_platform_pages_and_the_signup_form_run_under_the_policy(cast, server_url, page):
    public = server_url.format(host=settings.APP_DOMAIN)

    for path in ("/", "/pricing/", "/accounts/login/"):
        assert page.goto(f"{public}{path}").status == 200
    page.goto(f"{public}/signup/?plan=starter")
    page.fill("input[name=slug]", "csp-check-motors")

    page.wait_for_selector("#slug-check >> text=is available")  # htmx asked and swapped the answer in


def test_staff_screens_wagtail_and_billing_run_under_the_policy(cast, server_url, page):
    alpha = server_url.format(host=cast.a.primary_host)
    with schema_context(cast.a.schema_name):
        home = Page.objects.filter(depth=2).first()

    assert page.goto(f"{alpha}/").status == 200  # the dealer's site, with its brand colours' <style>
    sign_in(page, alpha, cast.a_admin, cast.password, lands_on="/crm/")
    for path in ("/crm/customers/", "/crm/sales/", "/crm/marketing/", "/crm/analytics/"):
        assert page.goto(f"{alpha}{path}").status == 200

    page.goto(f"{alpha}/crm/service/capacity/")
    with page.expect_navigation():
        page.select_option("select[name=rooftop]", index=1)  # static/js/site.js submits the filter
    assert "rooftop=" in page.url

    page.goto(f"{alpha}/cms/")
    page.wait_for_selector("main")
    page.goto(f"{alpha}/cms/pages/{home.pk}/edit/")
    page.wait_for_selector(".c-sf-add-button", state="attached")  # the editor's scripts built the StreamField

    page.goto(f"{alpha}/billing/")
    page.wait_for_selector("#card-element input")  # Stripe.js loaded from its own origin and mounted the card

    with page.expect_navigation():
        page.select_option("#language-select", "ru")
    assert page.locator("html").get_attribute("lang") == "ru"


def test_the_owners_portal_runs_under_the_policy(cast, server_url, page):
    alpha = server_url.format(host=cast.a.primary_host)

    sign_in(page, alpha, cast.a_owner, cast.password, lands_on="/my/")

    for path in ("/my/", "/my/book/", "/my/history/", "/my/refer/", "/my/club/", "/my/profile/"):
        page.goto(f"{alpha}{path}")
