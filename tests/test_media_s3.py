"""Media on S3 (MEDIA_STORAGE=s3): every object under its dealer group's prefix, never reachable from another group.

The S3 API is moto's server, a process of its own on loopback; the storage talks to it over HTTP with boto3
as it would to AWS, MinIO or any S3-compatible service.
"""

import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator

import boto3
import pytest
from django.core.exceptions import SuspiciousOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from crm.customers.importing import pipeline
from crm.customers.models import ImportJob
from tests.conftest import BASE_DIR, _free_port
from tests.test_settings import PRODUCTION_ENV, run_manage

SALES = "Kundennr;Nachname;Vorname;Telefon\nK-1;Schmidt;Anna;0171 2345678\n"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 API server, started as its own process on a free loopback port."""
    port = _free_port()
    log = open(BASE_DIR / ".data" / "test-s3.log", "wb")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                log.close()
                pytest.fail("moto's S3 server did not start; see .data/test-s3.log")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture
def bucket(s3_server, settings, monkeypatch):
    """A bucket of this test's own, and the media storage switched to it as MEDIA_STORAGE=s3 does."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")  # read by django-storages, as in production
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    name = f"media-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    settings.AWS_STORAGE_BUCKET_NAME = name
    settings.AWS_S3_ENDPOINT_URL = s3_server
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "tenants.storage.TenantS3Storage"}}
    s3.keys = lambda: [item["Key"] for item in s3.list_objects_v2(Bucket=name).get("Contents", [])]
    s3.name = name
    return s3


@pytest.mark.django_db
def test_an_uploaded_import_file_lives_under_its_groups_prefix_and_goes_when_imported(cast, bucket):
    # given: a dealer admin of A uploads a DMS file on the import screen
    admin = cast.signed_in(cast.a, cast.a_admin)
    response = admin.post("/crm/customers/imports/", {
        "file": SimpleUploadedFile("verkauf.csv", SALES.encode(), content_type="text/csv"), "kind": "sales",
        "encoding": "auto"})
    assert response.status_code == 302
    with schema_context(cast.a.schema_name):
        job = ImportJob.objects.latest("pk")
        name = job.file.name

    # then: the object is in the bucket under A's schema, private, with the file's bytes
    key = f"{cast.a.schema_name}/{name}"
    assert bucket.keys() == [key]
    assert bucket.get_object(Bucket=bucket.name, Key=key)["Body"].read() == SALES.encode()
    grants = bucket.get_object_acl(Bucket=bucket.name, Key=key)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]  # the bucket's owner only
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers, no AuthenticatedUsers

    # ... and B reaches it neither by URL nor by name
    b_host = Client(HTTP_HOST=cast.b.primary_host, raise_request_exception=False)
    assert b_host.get(f"/media/{cast.a.schema_name}/{name}").status_code == 404
    assert b_host.get(f"/media/{cast.b.schema_name}/{name}").status_code == 404
    assert b_host.get(f"/media/{cast.b.schema_name}/images/../../{cast.a.schema_name}/{name}").status_code == 400
    with schema_context(cast.b.schema_name):
        assert not default_storage.exists(name)
        with pytest.raises(FileNotFoundError):
            default_storage.open(name)
        with pytest.raises(SuspiciousOperation):
            default_storage.open(f"../{cast.a.schema_name}/{name}")
    # ... nor does A's own host serve a customer file: /media/ serves the site's images only
    assert cast.client(cast.a).get(f"/media/{cast.a.schema_name}/{name}").status_code == 404

    # when: the import runs, the file is read from the bucket, and deleted once its customers are in
    with schema_context(cast.a.schema_name):
        job.mapping = {"customer_number": "Kundennr", "family_name": "Nachname", "given_name": "Vorname",
                       "phone": "Telefon"}
        job.save()
        pipeline.job_run(job)
        job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.counts["created"] == 1
    assert bucket.keys() == []


@pytest.mark.django_db
def test_the_same_file_uploaded_twice_is_two_objects(cast, bucket):
    """Deleting one job's file after its run must not take another job's upload of the same file with it."""
    with schema_context(cast.a.schema_name):
        first = default_storage.save("imports/same.csv", ContentFile(b"one"))
        second = default_storage.save("imports/same.csv", ContentFile(b"two"))
        default_storage.delete(first)

        assert first != second
        assert default_storage.open(second).read() == b"two"
    assert bucket.keys() == [f"{cast.a.schema_name}/{second}"]


def test_the_sites_images_come_from_the_bucket_on_their_own_host_only(cast, bucket, django_db_blocker):
    with django_db_blocker.unblock(), schema_context(cast.a.schema_name):
        name = default_storage.save("images/showroom.png", ContentFile(b"\x89PNG alpha only"))
        url = default_storage.url(name)
    assert url == f"/media/{cast.a.schema_name}/{name}"  # the app's own URL, never the bucket's

    with django_db_blocker.unblock():
        on_a = cast.client(cast.a).get(url)
        on_b = cast.client(cast.b).get(url)
        b_own = cast.client(cast.b).get(f"/media/{cast.b.schema_name}/{name}")

    assert on_a.status_code == 200
    assert b"".join(on_a.streaming_content) == b"\x89PNG alpha only"
    assert on_a["Content-Type"] == "image/png"
    assert "sandbox" in on_a["Content-Security-Policy"]
    assert (on_b.status_code, b_own.status_code) == (404, 404)


@pytest.mark.parametrize(("env", "message"), [
    ({"MEDIA_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
    ({"MEDIA_STORAGE": "gcs"}, "MEDIA_STORAGE is 'gcs': set it to filesystem or s3."),
])
def test_production_refuses_to_start_with_media_storage_half_set(env, message):
    result = run_manage("check", env={**PRODUCTION_ENV, **env})

    assert result.returncode != 0
    assert message in result.stderr


def test_production_with_media_on_s3_passes_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING",
                        env={**PRODUCTION_ENV, "MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "dealercrm-media"})

    assert result.returncode == 0, result.stdout + result.stderr
