"""A salesperson records a walk-in customer and finds them again by phone, in a real browser."""

import pytest
from django_tenants.utils import schema_context

from accounts.models import StaffRole
from crm.core.services import staff_user_create
from tests.browser.conftest import sign_in

# A tenant of its own: what the browser commits does not leak into the shared test tenants.
pytestmark = [pytest.mark.browser]


def test_record_a_customer_and_find_them_by_any_phone_format(scratch, server_url, page, django_db_blocker):
    with django_db_blocker.unblock(), schema_context(scratch.tenant.schema_name):
        staff_user_create(email="seller@scratch.test", password=scratch.password, role=StaffRole.SALESPERSON,
                          first_name="Sina", last_name="Seller")
    base = server_url.format(host=scratch.tenant.primary_host)
    sign_in(page, base, "seller@scratch.test", scratch.password, lands_on="/crm/")

    page.click("nav.sidebar >> text=Customers")
    page.click("text=New customer")
    page.fill("input[name=family_name]", "Кузнецова")
    page.fill("input[name=given_name]", "Мария")
    page.fill("textarea[name=phones]", "+7 (916) 555-12-34")
    page.click("button[type=submit]")

    assert page.locator("h1").inner_text() == "Мария Кузнецова"
    assert "Kuznetsova" in page.content()
    assert "+7 916 555-12-34" in page.content()

    page.goto(f"{base}/crm/customers/?q=8-916-555-1234")
    assert page.locator("table").inner_text().count("Кузнецова") == 1
