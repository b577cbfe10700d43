"""A marketing user builds a saved segment in the rule editor, in a real browser: every change, added rule and
removed rule re-counts the customers in place (htmx), without reloading the page or losing what was typed."""

import re

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from accounts.models import StaffRole
from crm.core.services import staff_user_create
from crm.customers.models import Vehicle, VehicleLink
from crm.customers.services import person_create
from crm.dealerships.models import Rooftop
from crm.service.models import ServiceVisit
from tests.browser.conftest import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


def _customer(family: str, given: str, car: str | None = None, visited_months_ago: int | None = None) -> str:
    person = person_create(by=None, fields={"family_name": family, "given_name": given},
                           emails=[f"{family.lower()}@example.de"])
    if car:
        vehicle = Vehicle.objects.create(make=car, model="Test")
        VehicleLink.objects.create(vehicle=vehicle, person=person, kind="owner")
        if visited_months_ago is not None:
            ServiceVisit.objects.create(person=person, vehicle=vehicle, status="closed", total_amount=100,
                                        opened_on=timezone.localdate() - relativedelta(months=visited_months_ago))
    return str(person)


def test_the_rule_editor_counts_in_place_as_rules_are_changed_added_and_removed(scratch, server_url, page,
                                                                             request, django_db_blocker):
    with django_db_blocker.unblock(), schema_context(scratch.tenant.schema_name):
        Rooftop.objects.create(name="Scratch Mitte", city="Berlin", timezone="Europe/Berlin")
        staff_user_create(email="marketing@scratch.test", password=scratch.password, role=StaffRole.MARKETING,
                          first_name="Mara", last_name="Marketing")
        lapsed = _customer("Bauer", "Ben", car="BMW", visited_months_ago=14)
        recent = _customer("Clausen", "Cleo", car="BMW", visited_months_ago=1)
        _customer("Drews", "Dan", car="VW")
        _customer("Engel", "Eva")  # no car, never came
    base = server_url.format(host=scratch.tenant.primary_host)
    sign_in(page, base, "marketing@scratch.test", scratch.password, lands_on="/crm/")

    page.goto(f"{base}/crm/marketing/segments/new/")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.evaluate("window.stillTheSamePage = true")
    editor = page.locator("#segment-rules")
    preview = editor.locator(".segment-preview")

    def live(action: object) -> None:
        """Do ``action``, wait for the editor's own request (an htmx one, with the CSRF token) to answer and for
        the answer to be swapped in."""
        page.evaluate("window.swapped = false; document.body.addEventListener('htmx:afterSettle', "
                      "() => { window.swapped = true }, {once: true})")
        with page.expect_response(lambda response: response.request.method == "POST"
                                  and response.request.headers.get("hx-request") == "true") as answer:
            action()
        assert answer.value.status == 200, answer.value.text()
        assert "csrfmiddlewaretoken=" in (answer.value.request.post_data or "")
        page.wait_for_function("() => window.swapped")  # a function: a string would be eval()ed, which the CSP refuses

    page.fill("input[name=name]", "Lapsed BMW drivers")
    live(lambda: page.select_option("select[name=rule_field] >> nth=0", label="Car make"))
    live(lambda: page.select_option("select[name=rule_op] >> nth=0", label="is"))
    page.fill("input[name=rule_value] >> nth=0", "BMW")
    live(lambda: page.press("input[name=rule_value] >> nth=0", "Tab"))
    expect(preview).to_contain_text("2 active customers match now.")
    expect(preview).to_contain_text(lapsed)
    expect(preview).to_contain_text(recent)

    page.set_viewport_size(PHONE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    # choosing what to add a rule on is a change inside the editor too: it re-counts, and keeps the choice
    live(lambda: page.select_option("#new-field", label="Service visit"))
    expect(page.locator("#new-field")).to_have_value("visited")
    live(lambda: page.click("button:has-text('Add a rule')"))
    expect(editor.locator("tbody tr")).to_have_count(2)
    assert editor.locator("select[name=rule_field]").nth(1).input_value() == "visited"
    second_op = editor.locator("select[name=rule_op]").nth(1)
    assert second_op.locator("option").all_inner_texts() == ["in the last … months", "not in the last … months"]
    live(lambda: second_op.select_option(label="not in the last … months"))
    page.fill("input[name=rule_value] >> nth=1", "12")
    live(lambda: page.press("input[name=rule_value] >> nth=1", "Tab"))
    expect(preview).to_contain_text("1 active customer matches now.")
    expect(preview).to_contain_text(lapsed)
    expect(preview).not_to_contain_text(recent)

    live(lambda: editor.locator("tbody tr").nth(0).locator("button:has-text('Remove')").click())
    expect(editor.locator("tbody tr")).to_have_count(1)
    assert editor.locator("select[name=rule_field]").input_value() == "visited"
    expect(preview).to_contain_text("3 active customers match now.")  # Ben lapsed; Dan and Eva never came

    # nothing of that reloaded the page: same document, the name as typed, no navigation
    assert page.evaluate("window.stillTheSamePage") is True
    assert navigations == []
    assert page.input_value("input[name=name]") == "Lapsed BMW drivers"

    live(lambda: page.select_option("#new-field", label="Car make"))
    expect(page.locator("#new-field")).to_have_value("make")
    live(lambda: page.click("button:has-text('Add a rule')"))
    assert editor.locator("select[name=rule_field]").nth(1).input_value() == "make"
    page.fill("input[name=rule_value] >> nth=1", "BMW")
    live(lambda: page.press("input[name=rule_value] >> nth=1", "Tab"))
    expect(preview).to_contain_text("1 active customer matches now.")

    with page.expect_navigation():
        page.click("button[name=action][value=save]")
    assert "/crm/marketing/segments/new/" not in page.url
    assert "Segment saved." in page.content()
    assert page.locator("h1").inner_text().startswith("Lapsed BMW drivers")
    card = page.locator("section.card").first.inner_text()
    assert "Service visit not in the last 12 months" in card and "Car make is BMW" in card
    assert "1 active customer is in it now." in card
    assert page.locator("table").inner_text().count(lapsed) == 1


@pytest.mark.django_db
def test_without_script_the_editor_still_adds_removes_and_counts_by_plain_submits(cast, server_url, browser):
    alpha = server_url.format(host=cast.a.primary_host)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{alpha}/accounts/login/")  # not sign_in(): without script the language switcher's button shows
        page.fill("input[name=login]", cast.a_admin)
        page.fill("input[name=password]", cast.password)
        with page.expect_navigation():
            page.press("input[name=password]", "Enter")
        page.goto(f"{alpha}/crm/marketing/segments/new/")
        page.fill("input[name=name]", "BMW drivers")
        page.fill("input[name=rule_value]", "BMW")
        with page.expect_navigation():
            page.click("button:has-text('Count again')")
        expect(page.locator(".segment-preview")).to_have_text(re.compile(r"\d+ active customers? match(es)? now\."))
        page.select_option("#new-field", label="Service visit")
        with page.expect_navigation():
            page.click("button:has-text('Add a rule')")
        assert page.locator("select[name=rule_field]").evaluate_all("els => els.map(e => e.value)") == [
            "make", "visited"]
        assert page.input_value("input[name=name]") == "BMW drivers"
        assert page.input_value("input[name=rule_value] >> nth=0") == "BMW"
        with page.expect_navigation():
            page.locator("tbody tr").nth(0).locator("button:has-text('Remove')").click()
        assert page.locator("select[name=rule_field]").evaluate_all("els => els.map(e => e.value)") == ["visited"]
    finally:
        context.close()
