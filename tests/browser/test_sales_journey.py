"""A salesperson registers a walk-in as a prospect, logs the follow-up call and starts a deal, in a real browser."""

import pytest
from django_tenants.utils import schema_context

from accounts.models import StaffRole
from crm.core.services import staff_user_create
from crm.dealerships.models import Rooftop
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser]


def test_a_walk_in_becomes_a_prospect_with_a_planned_follow_up_and_a_deal(scratch, server_url, page,
                                                                           django_db_blocker):
    with django_db_blocker.unblock(), schema_context(scratch.tenant.schema_name):
        Rooftop.objects.create(name="Scratch Mitte", city="Berlin", timezone="Europe/Berlin")
        staff_user_create(email="seller@scratch.test", password=scratch.password, role=StaffRole.SALESPERSON,
                          first_name="Sina", last_name="Seller")
    base = server_url.format(host=scratch.tenant.primary_host)
    sign_in(page, base, "seller@scratch.test", scratch.password, lands_on="/crm/")

    page.click("nav.sidebar >> text=Sales")
    assert "No contacts due today" in page.content()
    page.click("text=New prospect")
    page.fill("input[name=family_name]", "Wagner")
    page.fill("input[name=given_name]", "Wiebke")
    page.fill("input[name=phone]", "030 555 0101")
    page.select_option("select[name=level]", "H")
    page.fill("input[name=model_interest]", "ID.4 Pro")
    page.select_option("select[name=contact_kind]", "visit")
    page.click("button:has-text('Register')")

    assert "Prospect registered for Wiebke Wagner." in page.content()
    assert "Next contact" in page.content() and "ID.4 Pro" in page.content()
    page.click("summary:has-text('Log a contact')")
    page.select_option("select[name=kind]", "call")
    page.select_option("select[name=outcome]", "test_drive")
    page.fill("input[name=next_step]", "Test drive on Saturday")
    page.click("button:has-text('Log')")
    assert "Contact logged." in page.content()
    assert page.locator("table").first.inner_text().count("Test drive on Saturday") == 1

    page.click("summary:has-text('Add a deal')")
    page.fill("input[name=amount]", "45990")
    page.click("form[action$='/deals/'] button[type=submit]")
    assert "Deal added." in page.content() and "Offer (PDF)" in page.content()

    page.goto(f"{base}/crm/sales/prospects/")
    assert page.locator("table").inner_text().count("Wiebke Wagner") == 1
