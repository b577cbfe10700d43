"""A new group's admin sees the first steps on the dashboard, each ticked off by the data itself (not by a
click), in their language; the list goes away when all are done; other roles never see it."""

import pytest
from django.conf import settings
from django_tenants.utils import schema_context
from wagtail.models import Site

from accounts.models import User
from crm.customers.models import ImportJob, Person
from crm.dealerships.models import OpeningHours, Rooftop
from portal.models import CustomerLink

pytestmark = pytest.mark.django_db


def _steps(client):
    return {step.code: step.done for step in client.get("/crm/").context["steps"]}


def test_the_first_steps_tick_themselves_off_as_the_group_sets_itself_up(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    with schema_context(cast.a.schema_name):
        OpeningHours.objects.all().delete()
        ImportJob.objects.all().delete()
        CustomerLink.objects.all().delete()
    before = _steps(admin)
    assert list(before) == ["opening_hours", "staff", "import", "site", "owners"]
    assert not before["opening_hours"] and not before["import"] and not before["owners"]
    assert before["staff"]  # the cast's salesperson has a sign-in of their own
    page = admin.get("/crm/").text
    assert "First steps" in page and 'href="/crm/customers/imports/"' in page

    with schema_context(cast.a.schema_name):
        for rooftop in Rooftop.objects.filter(is_active=True):
            OpeningHours.objects.create(rooftop=rooftop, weekday=0, opens="08:00", closes="18:00")
        admin_user = User.objects.get(email=cast.a_admin)
        ImportJob.objects.create(kind="sales", original_name="sales.csv", status=ImportJob.Status.DONE,
                                 created_by=admin_user)
        Site.objects.get(is_default_site=True).root_page.specific.save_revision(user=admin_user)
        owner = User.objects.get(email=cast.a_owner)
        CustomerLink.objects.create(user=owner, person=Person.objects.create(family_name="Owner"), proof="email")
    done = admin.get("/crm/")
    assert done.context["steps"] == [] and "First steps" not in done.text  # all done: the list goes away


def test_the_first_steps_speak_the_admins_language_and_only_admins_see_them(cast):
    with schema_context(cast.a.schema_name):
        ImportJob.objects.all().delete()
    admin = cast.signed_in(cast.a, cast.a_admin)
    admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    assert "Первые шаги" in admin.get("/crm/").text and "Загрузите клиентов" in admin.get("/crm/").text
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/").context["steps"] == []
