"""What a dealer's staff member does on day one, in a real browser."""

import pytest

from tests.browser.conftest import accessibility_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_staff_sign_in_see_their_dashboard_and_switch_language(cast, server_url, page):
    alpha = server_url.format(host=cast.a.primary_host)

    page.goto(f"{alpha}/crm/")
    assert "/accounts/login/" in page.url
    sign_in(page, alpha, cast.a_salesperson, cast.password, lands_on="/crm/")

    assert page.locator("h1").inner_text() == "Alpha Motors"
    assert page.locator(".tile__figure").first.inner_text() == "2"
    assert "soon" not in page.locator("nav.sidebar").inner_text()  # every module is built, the club too
    problems = accessibility_problems(page)
    for path in ("/crm/customers/", "/crm/sales/", "/crm/sales/prospects/", "/crm/service/calendar/"):
        page.goto(f"{alpha}{path}")
        problems += accessibility_problems(page)
    assert problems == []  # axe-core: no serious or critical violations on the salesperson's main pages
    page.goto(f"{alpha}/crm/")

    with page.expect_navigation():
        page.select_option("#language-select", "ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert "Обзор" in page.locator("nav.sidebar").inner_text()


def test_the_browser_keeps_a_session_on_its_own_host(cast, server_url, page):
    alpha = server_url.format(host=cast.a.primary_host)
    bravo = server_url.format(host=cast.b.primary_host)
    sign_in(page, alpha, cast.a_admin, cast.password, lands_on="/crm/")

    page.goto(f"{bravo}/crm/")

    assert "/accounts/login/" in page.url
    assert "Alpha Motors" not in page.content()


def test_a_car_owner_lands_in_their_garage_not_the_crm(cast, server_url, page):
    alpha = server_url.format(host=cast.a.primary_host)
    sign_in(page, alpha, cast.a_owner, cast.password, lands_on="/my/")

    assert page.locator("h1").inner_text() == "My garage"
    page.goto(f"{alpha}/crm/")
    assert page.locator("h1").inner_text() == "Access denied"


def test_the_admins_main_pages_have_no_serious_accessibility_problems(cast, server_url, page):
    alpha = server_url.format(host=cast.a.primary_host)
    sign_in(page, alpha, cast.a_admin, cast.password, lands_on="/crm/")
    problems = accessibility_problems(page)  # the dashboard with its first steps
    for path in ("/crm/customers/imports/", "/crm/settings/rooftops/", "/crm/settings/staff/", "/crm/marketing/",
                 "/crm/analytics/", "/crm/service/declined/", "/crm/club/"):
        page.goto(f"{alpha}{path}")
        problems += accessibility_problems(page)
    assert problems == []  # axe-core: no serious or critical violations
