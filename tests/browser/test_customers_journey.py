"""A salesperson records a walk-in customer and finds them again by phone, in a real browser."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_record_a_customer_and_find_them_by_any_phone_format(cast, server_url, page):
    alpha = server_url.format(host=cast.a.primary_host)
    page.goto(f"{alpha}/accounts/login/")
    page.fill("input[name=login]", cast.a_salesperson)
    page.fill("input[name=password]", cast.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{alpha}/crm/")

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
