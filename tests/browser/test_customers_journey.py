"""A salesperson records a walk-in customer and finds them again by phone, in a real browser."""

import pytest

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_record_a_customer_and_find_them_by_any_phone_format(cast, server_url, page):
    alpha = server_url.format(host=cast.a.primary_host)
    sign_in(page, alpha, cast.a_salesperson, cast.password, lands_on="/crm/")

    page.click("nav.sidebar >> text=Customers")
    page.click("text=New customer")
    page.fill("input[name=family_name]", "Кузнецова")
    page.fill("input[name=given_name]", "Мария")
    page.fill("textarea[name=phones]", "+7 (916) 555-12-34")
    page.click("button[type=submit]")

    assert page.locator("h1").inner_text() == "Мария Кузнецова"
    assert "Kuznetsova" in page.content()
    assert "+7 916 555-12-34" in page.content()

    page.goto(f"{alpha}/crm/customers/?q=8-916-555-1234")
    assert page.locator("table").inner_text().count("Кузнецова") == 1
