"""A cancelled group's dealer admin downloads its data before the purge; nobody else does."""

import csv
import io
import re
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.services import person_create
from tenants.billing.tasks import billing_email_send, suspended_groups_purge
from tenants.models import BillingEmail, DataExport, DealerGroup, DealerGroupStatus
from tests.conftest import run_as_the_worker

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
LINK = re.compile(r'href="(/billing/data/[^"/]+/)"')


@pytest.fixture
def suspended_alpha(cast):
    """Alpha's subscription ended 80 days ago: 10 days before its data is deleted."""
    DealerGroup.objects.filter(pk=cast.a.pk).update(status=DealerGroupStatus.SUSPENDED,
                                                    suspended_at=NOW - timedelta(days=80))
    with schema_context(cast.a.schema_name):
        person_create(by=None, fields={"family_name": "=Müller", "given_name": "Jürgen", "notes": "a, \"b\"\nc"},
                      phones=["+49 30 7654321"])
    yield cast.a
    shutil.rmtree(Path(settings.MEDIA_ROOT) / cast.a.schema_name / "exports", ignore_errors=True)


def _prepared(cast, django_capture_on_commit_callbacks) -> tuple[object, str]:
    admin = cast.signed_in(cast.a, cast.a_admin)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin.post("/billing/data/")
    assert response.status_code == 302
    run_as_the_worker(queued)
    page = admin.get("/billing/")
    return admin, LINK.search(page.text).group(1)


@time_machine.travel(NOW, tick=False)
def test_the_admin_of_a_cancelled_group_sees_the_days_left_and_downloads_every_table(
        cast, suspended_alpha, django_capture_on_commit_callbacks):
    admin = cast.signed_in(cast.a, cast.a_admin)
    page = admin.get("/billing/")
    assert page.status_code == 200
    assert "Your data is deleted in 10 days" in page.text and "Download your data" in page.text

    with django_capture_on_commit_callbacks(execute=False) as queued:
        admin.post("/billing/data/")
        admin.post("/billing/data/")  # a second click while it is prepared starts nothing more
    assert len(queued) == 1 and DataExport.objects.filter(dealer_group=cast.a).count() == 1
    assert "being prepared" in admin.get("/billing/").text
    with django_capture_on_commit_callbacks(execute=False) as sent:
        run_as_the_worker(queued)
    export = DataExport.objects.get(dealer_group=cast.a)
    assert export.state == "ready" and export.file.startswith("exports/")
    assert (Path(settings.MEDIA_ROOT) / cast.a.schema_name / export.file).is_file()  # in the group's own folder

    run_as_the_worker(sent)  # the e-mail saying it is ready
    assert [m.to for m in mail.outbox] == [[cast.a_admin]]
    assert f"https://{cast.a.primary_host}/billing/" in mail.outbox[0].body

    link = LINK.search(admin.get("/billing/").text).group(1)
    response = admin.get(link)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert {"people.csv", "vehicles.csv", "consents.csv", "prospects.csv", "service_visits.csv", "club_members.csv",
            "staff.csv"} <= set(archive.namelist())
    people = list(csv.reader(io.StringIO(archive.read("people.csv").decode("utf-8-sig"))))
    assert people[0][:3] == ["ID", "Family name", "Given name"]
    assert people[1][1:3] == ["'=Müller", "Jürgen"]  # no formula runs when it is opened
    assert "a, \"b\"\nc" in people[1]
    assert "search_text" not in " ".join(people[0]).lower()
    staff = archive.read("staff.csv").decode("utf-8-sig")
    assert cast.a_admin in staff and "Password" not in staff and "md5$" not in staff


@time_machine.travel(NOW, tick=False)
def test_only_this_groups_admin_fetches_the_download(cast, suspended_alpha, django_capture_on_commit_callbacks):
    _admin, link = _prepared(cast, django_capture_on_commit_callbacks)

    salesperson = cast.signed_in(cast.a, cast.a_salesperson)
    assert salesperson.get(link).status_code == 403
    assert "Download your data" not in salesperson.get("/billing/").text
    assert cast.client(cast.a).get(link).status_code == 302  # to the sign-in page
    other_admin = cast.signed_in(cast.b, cast.b_admin)
    assert other_admin.get(link).status_code == 404  # signed for alpha's schema: nothing here
    assert _admin.get(link[:-2] + "x/").status_code == 404  # altered


@time_machine.travel(NOW, tick=False)
def test_a_new_download_replaces_the_last_and_the_old_link_stops_working(
        cast, suspended_alpha, django_capture_on_commit_callbacks):
    admin, first = _prepared(cast, django_capture_on_commit_callbacks)
    old_file = DataExport.objects.get(dealer_group=cast.a).file
    _admin, second = _prepared(cast, django_capture_on_commit_callbacks)

    assert first != second and admin.get(first).status_code == 404 and admin.get(second).status_code == 200
    assert not (Path(settings.MEDIA_ROOT) / cast.a.schema_name / old_file).exists()
    assert DataExport.objects.filter(dealer_group=cast.a).count() == 1


def test_the_admins_are_warned_a_week_before_the_data_is_deleted(cast):
    with time_machine.travel(NOW, tick=False):
        days = settings.BILLING_RETENTION_DAYS - settings.BILLING_PURGE_WARNING_DAYS + 1  # six days before
        DealerGroup.objects.filter(pk=cast.a.pk).update(status=DealerGroupStatus.SUSPENDED,
                                                        suspended_at=NOW - timedelta(days=days))
        DealerGroup.objects.filter(pk=cast.b.pk).update(status=DealerGroupStatus.SUSPENDED,
                                                        suspended_at=NOW - timedelta(days=30))
        assert suspended_groups_purge() == []
        suspended_groups_purge()  # the next night: told once
    warnings = BillingEmail.objects.filter(kind=BillingEmail.Kind.PURGE_WARNING)
    assert [w.dealer_group_id for w in warnings] == [cast.a.pk]
    billing_email_send(warnings[0].pk)
    assert [m.to for m in mail.outbox] == [[cast.a_admin]]
    assert "deleted on" in mail.outbox[0].body and "download your data" in mail.outbox[0].body
    with schema_context(cast.a.schema_name):
        assert User.objects.filter(email=cast.a_admin).exists()
