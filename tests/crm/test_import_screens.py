"""The import screens: upload, mapping with preview, profiles, background run, report; who may."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from accounts.models import StaffRole
from crm.core.services import staff_user_create
from crm.customers.models import AuditEntry, ImportJob, ImportProfile, Person

SALES = ("Kundennr;Nachname;Vorname;Telefon;VIN;Verkaufsdatum\n"
         "K-1;Schmidt;Anna;0171 2345678;WVWZZZ1KZAW000001;15.03.2021\n"
         "K-2;Weber;Jonas;0172 3456789;WVWZZZ1KZAW000002;32.06.2022\n")
MAPPING = {"map_customer_number": "Kundennr", "map_family_name": "Nachname", "map_given_name": "Vorname",
           "map_phone": "Telefon", "map_vin": "VIN", "map_purchase_date": "Verkaufsdatum", "date_format": "%d.%m.%Y"}


def _upload(client, data=None, name="verkauf.csv", **extra):
    return client.post("/crm/customers/imports/", {
        "file": SimpleUploadedFile(name, data or SALES.encode(), content_type="text/csv"), "kind": "sales",
        "encoding": "auto", **extra,
    })


@pytest.mark.django_db
def test_an_upload_lands_on_the_mapping_with_a_preview_of_the_rows(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)

    response = _upload(admin, SALES.replace("Kundennr", "Customer number").replace("Telefon", "Phone").encode())
    page = admin.get(response["Location"])

    assert response.status_code == 302
    form = page.context["form"]
    assert form["map_customer_number"].initial == "Customer number"  # recognised by its name
    assert form["map_phone"].initial == "Phone"
    assert form["map_family_name"].initial == ""  # "Nachname" is not a name we know: the dealer maps it
    assert form["date_format"].initial == "%d.%m.%Y"  # read from the sample
    assert "Map the customer&#x27;s name" not in page.text


@pytest.mark.django_db
def test_the_preview_shows_each_row_as_it_will_be_read_and_the_bad_ones_in_red(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    job_url = _upload(admin)["Location"]

    response = admin.post(job_url, {**MAPPING, "action": "preview"}, follow=True)

    assert [row.line for row in response.context["preview"]] == [2, 3]
    good, bad = response.context["preview"]
    assert good.parsed.phones == ["+491712345678"] and good.parsed.customer_number == "K-1"
    # A bad date costs only the date: the row is read, the value shown as one to check.
    assert bad.parsed.customer_number == "K-2" and "purchase_date" not in bad.parsed.vehicle
    assert "32.06.2022" in bad.parsed.hints[0].message and bad.parsed.hints[0].column == "Verkaufsdatum"
    assert "is not a date like" in response.text


@pytest.mark.django_db
def test_a_mapping_without_a_name_is_refused_with_a_message(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    job_url = _upload(admin)["Location"]

    response = admin.post(job_url, {"map_phone": "Telefon", "date_format": "%d.%m.%Y", "action": "import"})

    assert response.status_code == 200
    assert "Map the customer's name" in " ".join(response.context["form"].non_field_errors())
    with schema_context(cast.a.schema_name):
        assert ImportJob.objects.latest("pk").status == ImportJob.Status.UPLOADED


@pytest.mark.django_db
def test_a_saved_profile_maps_next_months_file_by_itself(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    job_url = _upload(admin)["Location"]
    admin.post(job_url, {**MAPPING, "profile_name": "Autodealer sales", "save_profile": "1", "action": "preview"})
    with schema_context(cast.a.schema_name):
        profile = ImportProfile.objects.get(name="Autodealer sales")

    page = admin.get(_upload(admin, name="verkauf-november.csv", profile=profile.pk)["Location"])

    form = page.context["form"]
    assert form["map_family_name"].initial == "Nachname"
    assert form["map_purchase_date"].initial == "Verkaufsdatum"
    assert form["date_format"].initial == "%d.%m.%Y"


@pytest.mark.django_db
def test_a_file_that_is_not_a_table_is_refused_at_upload(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)

    broken_xlsx = _upload(admin, b"PK\x03\x04 not really a workbook", name="export.xlsx")
    image = _upload(admin, b"\x89PNG\r\n\x1a\n\x00\x00", name="photo.png")

    assert "not an Excel workbook" in broken_xlsx.text
    assert "Upload a .csv or .xlsx file." in image.text


@pytest.mark.django_db
def test_only_managers_import_and_another_tenant_sees_nothing(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    job_url = _upload(admin)["Location"]

    salesperson = cast.signed_in(cast.a, cast.a_salesperson)
    owner = cast.signed_in(cast.a, cast.a_owner)
    other = cast.signed_in(cast.b, cast.b_admin)

    lines = (f"{job_url}rejected-rows.csv", f"{job_url}values-to-check.csv", f"{job_url}rows/")
    for path in ("/crm/customers/imports/", job_url, f"{job_url}progress/", *lines):
        assert salesperson.get(path).status_code == 403
        assert owner.get(path).status_code == 403
    for path in (job_url, f"{job_url}progress/", *lines):
        assert other.get(path).status_code == 404, path
    assert other.post(job_url, {**MAPPING, "action": "import"}).status_code == 404
    assert "verkauf.csv" not in other.get("/crm/customers/imports/").text


@pytest.mark.worker
def test_an_import_runs_in_the_background_and_reports_what_it_did(scratch, celery_worker):
    admin = scratch.signed_in()
    job_url = _upload(admin)["Location"]

    started = admin.post(job_url, {**MAPPING, "action": "import"}, follow=True)
    assert "Import started" in started.text

    deadline = time.monotonic() + 60
    with schema_context(scratch.tenant.schema_name):
        job = ImportJob.objects.latest("pk")
        while job.status != ImportJob.Status.DONE and time.monotonic() < deadline:
            assert job.status != ImportJob.Status.FAILED, job.message
            time.sleep(0.3)
            job.refresh_from_db()
        assert job.status == ImportJob.Status.DONE
        assert sorted(Person.objects.values_list("family_name", flat=True)) == ["Schmidt", "Weber"]

    page = admin.get(job_url)
    progress = admin.get(f"{job_url}progress/", HTTP_HX_REQUEST="true")
    report = admin.get(f"{job_url}values-to-check.csv")
    rejected = admin.get(f"{job_url}rejected-rows.csv")

    assert [(key, count) for key, _label, count in page.context["job"].outcomes() if count] == [
        ("created", 2), ("warnings", 1)]
    assert "2 of 2 rows (100%)" in progress.text and progress["HX-Refresh"] == "true"
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines == ["Kundennr,Nachname,Vorname,Telefon,VIN,Verkaufsdatum,Line,Column,Problem",
                     "K-2,Weber,Jonas,0172 3456789,WVWZZZ1KZAW000002,32.06.2022,3,Verkaufsdatum,"
                     "“32.06.2022” is not a date like 31.03.2024."]
    assert b"".join(rejected.streaming_content).decode("utf-8-sig").splitlines() == [
        "Kundennr,Nachname,Vorname,Telefon,VIN,Verkaufsdatum,Line,Column,Problem"]
    assert "form" not in page.context or page.context["form"] is None  # a finished import is not offered again
    admin.post(job_url, {**MAPPING, "action": "import"})
    with schema_context(scratch.tenant.schema_name):
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE  # not run twice


@pytest.mark.django_db
def test_the_preview_of_a_file_without_a_purchase_date_shows_its_rows(cast):
    admin = cast.signed_in(cast.a, cast.a_admin)
    job_url = _upload(admin)["Location"]
    without_dates = {name: value for name, value in MAPPING.items() if name != "map_purchase_date"}

    response = admin.post(job_url, {**without_dates, "action": "preview"}, follow=True)

    assert response.status_code == 200
    assert [row.line for row in response.context["preview"]] == [2, 3]
    assert "Schmidt Anna" in response.text and "WVWZZZ1KZAW000002" in response.text


@pytest.mark.django_db
def test_rejected_rows_go_to_who_imported_and_who_may_download_customers_each_download_recorded(cast):
    """The rejected rows are the file's own rows: with a column mapped wrongly, the whole customer dump. So the
    download follows the customer export's rule, opened also to whoever started that import, and is audited."""
    with schema_context(cast.a.schema_name):
        staff_user_create(email="maria@alpha.test", password=cast.password, role=StaffRole.SALES_MANAGER,
                          first_name="Maria", last_name="Meier")
        staff_user_create(email="sven@alpha.test", password=cast.password, role=StaffRole.SERVICE_MANAGER)
    admin = cast.signed_in(cast.a, cast.a_admin)
    maria = cast.signed_in(cast.a, "maria@alpha.test")
    sven = cast.signed_in(cast.a, "sven@alpha.test")
    assert admin.post("/crm/customers/data-access/", {"roles": []}).status_code == 302  # dealer admins only
    job_url = _upload(maria)["Location"]
    with schema_context(cast.a.schema_name):
        job = ImportJob.objects.get()
        job.problems.create(line=3, reason="Purchase date: “32.06.2022” is not a date like 31.03.2024.",
                            values=["K-2", "Weber", "Jonas", "0172 3456789", "WVWZZZ1KZAW000002", "32.06.2022"])
    download = f"{job_url}rejected-rows.csv"

    # Sven may import too, but neither started this one nor may download customers: no link, and a refusal.
    assert download not in sven.get(job_url).text
    refused = sven.get(download)
    assert refused.status_code == 403
    assert "Your role may not download customer lists" in refused.content.decode()
    # Maria started it, the dealer admin may download customers: both get the rows, each download recorded.
    assert download in maria.get(job_url).text and download in admin.get(job_url).text
    for client in (maria, admin):
        response = client.get(download)
        assert response.status_code == 200
        assert "Weber,Jonas" in b"".join(response.streaming_content).decode("utf-8-sig")
    with schema_context(cast.a.schema_name):
        records = AuditEntry.objects.filter(action="import_rejected_rows_exported").order_by("pk")
        assert [(record.actor.email, record.person, record.changes) for record in records] == [
            (email, None, {"import": job.pk, "file": "verkauf.csv", "rows": 1})
            for email in ("maria@alpha.test", cast.a_admin)]

    # The dealer admin's downloads log says it in words.
    screen = admin.get("/crm/customers/data-access/").content.decode()
    assert f"Rejected rows of the import “verkauf.csv” (no. {job.pk})" in screen and "Maria Meier" in screen
    # Another group and a car owner get nothing, and nothing is recorded for them.
    assert cast.signed_in(cast.b, cast.b_admin).get(download).status_code == 404
    assert cast.signed_in(cast.a, cast.a_owner).get(download).status_code == 403
    with schema_context(cast.a.schema_name):
        assert AuditEntry.objects.filter(action="import_rejected_rows_exported").count() == 2
