"""The operator console: the platform's staff see every group with status, plan, MRR, usage and last
activity, and suspend or reactivate one; nobody else gets in."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tenants.billing.services import client
from tenants.models import DealerGroup, DealerGroupStatus, KpiSnapshot, Plan
from tests.conftest import confirmed_step
from tests.tenants.test_billing import _subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(cast):
    User.objects.create_user("ops@platform.test", cast.password, is_staff=True)
    client = Client(HTTP_HOST=settings.APP_DOMAIN)
    client.post("/accounts/login/", {"login": "ops@platform.test", "password": cast.password})
    return client


def test_operators_see_every_group_with_plan_mrr_and_usage(cast, operator):
    plan = Plan.objects.create(code="ops-test", name="Ops test", monthly_price=9900, yearly_price=99000)
    DealerGroup.objects.filter(pk=cast.a.pk).update(plan=plan, status="active", rooftops_paid=3,
                                                    last_activity_at=timezone.now() - timedelta(hours=2))
    KpiSnapshot.objects.create(dealer_group=cast.a, period="month", period_start=date(2026, 10, 1),
                               period_end=date(2026, 10, 31), computed_at=timezone.now(), customers=Decimal(1234),
                               visits=Decimal(321))
    page = operator.get("/operator/")
    assert page.status_code == 200 and cast.a.name in page.text and cast.b.name in page.text
    assert "297 EUR" in page.text and "1234" in page.text and "321" in page.text and "2\xa0hours ago" in page.text
    assert DealerGroup.objects.get(pk=cast.a.pk).mrr_cents == 29700


def test_suspend_and_reactivate_through_the_billing_services(cast, operator):
    action, fields = confirmed_step(operator.get("/operator/").text, "Suspend", f"/operator/{cast.b.pk}/suspend/")
    operator.post(action, fields)
    group = DealerGroup.objects.get(pk=cast.b.pk)
    assert group.status == "suspended" and group.suspended_at is not None
    assert Client(HTTP_HOST=cast.b.primary_host).get("/crm/").status_code == 402  # the group is shut
    again = operator.post(f"/operator/{cast.b.pk}/suspend/", follow=True)
    assert "already suspended" in again.text
    operator.post(f"/operator/{cast.b.pk}/reactivate/")
    assert DealerGroup.objects.get(pk=cast.b.pk).status == "active"


def test_nobody_else_reaches_the_console(cast):
    User.objects.create_user("someone@platform.test", cast.password)
    someone = Client(HTTP_HOST=settings.APP_DOMAIN)
    someone.post("/accounts/login/", {"login": "someone@platform.test", "password": cast.password})
    assert someone.get("/operator/").status_code == 403
    assert someone.post(f"/operator/{cast.a.pk}/suspend/").status_code == 403
    assert Client(HTTP_HOST=settings.APP_DOMAIN).get("/operator/").status_code == 302
    assert cast.signed_in(cast.a, cast.a_admin).get("/operator/").status_code == 404  # not on a dealer's host
    assert DealerGroup.objects.get(pk=cast.a.pk).status != "suspended"


def test_suspending_a_stripe_billed_group_cancels_its_subscription_and_reactivating_resubscribes(
        cast, operator, stripe_plans):
    group = _subscribe(cast.a, trial=False)
    cancelled = group.stripe_subscription_id

    operator.post(f"/operator/{group.pk}/suspend/")

    group = DealerGroup.objects.get(pk=group.pk)
    assert group.status == DealerGroupStatus.SUSPENDED
    assert client().v1.subscriptions.retrieve(cancelled).status == "canceled"  # Stripe stops charging
    assert Client(HTTP_HOST=group.primary_host).get("/crm/").status_code == 402

    operator.post(f"/operator/{group.pk}/reactivate/")

    group = DealerGroup.objects.get(pk=group.pk)
    assert group.status == DealerGroupStatus.ACTIVE and group.stripe_subscription_id != cancelled
    assert client().v1.subscriptions.retrieve(group.stripe_subscription_id).status == "active"  # on the saved card


def test_the_platforms_own_row_has_no_suspend_button_and_cannot_be_suspended(cast, operator):
    platform = DealerGroup.objects.get(schema_name="public")
    page = operator.get("/operator/").text
    assert f'/operator/{platform.pk}/suspend/' not in page and f"/operator/{cast.a.pk}/suspend/" in page

    refused = operator.post(f"/operator/{platform.pk}/suspend/", follow=True)

    assert "The platform itself cannot be suspended." in refused.text
    assert DealerGroup.objects.get(pk=platform.pk).status != "suspended"
    assert Client(HTTP_HOST=settings.APP_DOMAIN).get("/pricing/").status_code == 200
