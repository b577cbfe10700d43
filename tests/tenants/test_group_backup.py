"""A dealer group's backup: exported alone, restored as a new group beside the original, every table the same.

pg_dump and pg_restore are other processes: they see only committed rows, so these tests run without the
django_db mark (autocommit, like a real server) and remove what they add.
"""

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from crm.customers.models import Person, TimelineEntry
from crm.customers.services import note_add, person_create
from tenants.backup import tool
from tenants.models import DealerGroup, Domain, KpiSnapshot

# What pg_dump writes around a table's rows, in a customer's words: a restore that edits text would change it.
NOTES = ("Called about t_alpha.person and \"t_alpha\".\"crm_customers_person\";\nsaid: it's fine\t\\.\n"
         "COPY t_alpha.x FROM stdin;\n价格 Цена ✓ — t_alpha.")
BRAVO_MARKER = "Bravo-only-Zyxw"
RESTORED_SCHEMA, RESTORED_SLUG = "t_alpha_restored", "alpha-restored"


def _fingerprint(schema: str) -> dict[str, tuple[int, str]]:
    """Every table of the schema: (rows, md5 of all rows in a fixed order). The Wagtail site's host name is left out:
    a restored copy answers on its own host."""
    result = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema])
        for (table,) in cursor.fetchall():
            row = "(to_jsonb(t) - 'hostname')::text" if table == "wagtailcore_site" else "t::text"
            cursor.execute(f'SELECT count(*), md5(coalesce(string_agg({row}, \'|\' ORDER BY {row}), \'\'))'  # noqa: S608
                           f' FROM "{schema}"."{table}" AS t')
            result[table] = cursor.fetchone()
    return result


def _sequences(schema: str) -> dict[str, int | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s", [schema])
        return dict(cursor.fetchall())


def _drop(schema: str) -> None:
    connection.set_schema_to_public()
    group = DealerGroup.objects.filter(schema_name=schema).first()
    if group is not None:
        group.delete(force_drop=True)
    elif schema_exists(schema):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    shutil.rmtree(Path(settings.MEDIA_ROOT) / schema, ignore_errors=True)


@pytest.fixture(scope="module")
def exported(cast, django_db_blocker, tmp_path_factory):
    """Tenant A with a customer whose words look like SQL, B with a customer of its own, A exported."""
    archive = tmp_path_factory.mktemp("backup") / "alpha.tar"
    with django_db_blocker.unblock():
        with schema_context(cast.a.schema_name):
            admin = User.objects.get(email=cast.a_admin)
            person = person_create(by=admin, fields={"family_name": "O'Brien", "given_name": "Zoë", "notes": NOTES},
                                   phones=["+49 30 1234567"])
            note_add(person=person, by=admin, summary="Quote: \"t_alpha.\" | pipe", body=NOTES)
        with schema_context(cast.b.schema_name):
            bravo = person_create(by=None, fields={"family_name": BRAVO_MARKER})
        KpiSnapshot.objects.create(dealer_group=cast.a, period="day", period_start="2026-03-02",
                                   period_end="2026-03-02", computed_at="2026-03-03T04:15Z", customers=1)
        media = Path(settings.MEDIA_ROOT) / cast.a.schema_name
        (media / "original_images").mkdir(parents=True, exist_ok=True)
        (media / "original_images" / "logo.txt").write_text("alpha's logo")
        before = _fingerprint(cast.a.schema_name)
        call_command("group_export", cast.a.slug, "--out", str(archive))
        try:
            yield archive, person.pk, before
        finally:
            _drop(RESTORED_SCHEMA)
            with schema_context(cast.a.schema_name):
                TimelineEntry.objects.filter(person=person).delete()
                Person.objects.filter(pk=person.pk).delete()
            with schema_context(cast.b.schema_name):
                TimelineEntry.objects.filter(person=bravo).delete()
                Person.objects.filter(pk=bravo.pk).delete()
            KpiSnapshot.objects.filter(dealer_group=cast.a).delete()
            shutil.rmtree(media / "original_images", ignore_errors=True)


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers() if member.isfile()}


def test_the_export_holds_the_group_alone(exported, cast, tmp_path):
    archive, _pk, before = exported
    members = _members(archive)
    manifest = json.loads(members["manifest.json"])
    assert manifest["group"] == {"slug": "alpha", "name": "Alpha Motors", "schema": "t_alpha",
                                 "primary_host": cast.a.primary_host}
    assert manifest["row_counts"] == {table: rows for table, (rows, _md5) in before.items()}
    assert ["customers", "0001_initial"] in manifest["migrations"]
    # Every file of the group's folder (other tests leave theirs there too), none of its data downloads.
    media = Path(settings.MEDIA_ROOT) / cast.a.schema_name
    files = [path for path in media.rglob("*") if path.is_file() and path.relative_to(media).parts[0] != "exports"]
    assert manifest["media_files"] == len(files) == sum(name.startswith("media/") for name in members)
    assert members["media/original_images/logo.txt"] == b"alpha's logo"

    dump = tmp_path / "schema.pgdump"
    dump.write_bytes(members["schema.pgdump"])
    text = subprocess.run([tool("pg_restore"), "--file=-", str(dump)], capture_output=True, text=True,
                          check=True).stdout
    assert "O'Brien" in text and "CREATE TABLE t_alpha.customers_person" in text
    assert BRAVO_MARKER not in text and "t_bravo" not in text

    public = json.loads(members["public.json"])
    models = {row["model"] for row in public}
    assert {"tenants.dealergroup", "tenants.domain", "tenants.kpisnapshot"} <= models
    assert {row["fields"]["domain"] for row in public if row["model"] == "tenants.domain"} == {cast.a.primary_host}
    assert all(row["fields"].get("dealer_group", cast.a.pk) == cast.a.pk for row in public)
    assert "bravo" not in members["public.json"].decode()


def test_a_restored_group_has_every_table_the_same_and_serves_its_crm(exported, cast, django_db_blocker):
    archive, person_pk, before = exported
    with django_db_blocker.unblock():
        call_command("group_restore", str(archive), "--schema", RESTORED_SCHEMA, "--slug", RESTORED_SLUG)

        restored = DealerGroup.objects.get(schema_name=RESTORED_SCHEMA)
        assert restored.slug == RESTORED_SLUG and restored.name == "Alpha Motors"
        assert list(Domain.objects.filter(tenant=restored).values_list("domain", "is_primary")) == [
            (f"{RESTORED_SLUG}.{settings.APP_DOMAIN}", True)]
        assert KpiSnapshot.objects.filter(dealer_group=restored).count() == 0  # a copy, not the group's history

        copy = _fingerprint(RESTORED_SCHEMA)
        assert copy.keys() == before.keys() and len(copy) > 140
        differ = [table for table in before if copy[table] != before[table]]
        assert differ == []
        assert _sequences(RESTORED_SCHEMA) == _sequences(cast.a.schema_name)
        assert _fingerprint(cast.a.schema_name) == before  # the original is untouched
        with schema_context(RESTORED_SCHEMA):
            person = Person.objects.get(pk=person_pk)
            assert person.notes == NOTES
            assert TimelineEntry.objects.get(person=person, kind="note").body == NOTES.strip()
            from wagtail.models import Site

            assert Site.objects.get().hostname == restored.primary_host
            newer = person_create(by=None, fields={"family_name": "After the restore"})
            assert newer.pk > max(Person.objects.exclude(pk=newer.pk).values_list("pk", flat=True))
        assert (Path(settings.MEDIA_ROOT) / RESTORED_SCHEMA / "original_images" / "logo.txt").read_text() == \
            "alpha's logo"

        client = Client(HTTP_HOST=restored.primary_host)
        assert client.post("/accounts/login/", {"login": cast.a_admin, "password": cast.password}).status_code == 302
        page = client.get(f"/crm/customers/{person_pk}/")
        assert page.status_code == 200 and "Zoë" in page.text
        # A sign-in on the copy is the copy's own session: on the original's host it opens nothing.
        original = Client(HTTP_HOST=cast.a.primary_host)
        original.cookies = client.cookies
        assert original.get(f"/crm/customers/{person_pk}/").status_code == 302


def test_a_restore_never_overwrites_a_schema(exported, cast, django_db_blocker):
    archive, _pk, _before = exported
    with django_db_blocker.unblock():
        bravo = _fingerprint(cast.b.schema_name)
        with pytest.raises(CommandError, match="exists already"):
            call_command("group_restore", str(archive), "--schema", cast.b.schema_name, "--slug", "bravo-two")
        with pytest.raises(CommandError, match="already taken"):  # the original's own subdomain, on its server
            call_command("group_restore", str(archive), "--schema", "t_alpha_again")
        with pytest.raises(CommandError, match="cannot be a schema name"):
            call_command("group_restore", str(archive), "--schema", "Robert'); DROP", "--slug", "alpha-x")
        assert _fingerprint(cast.b.schema_name) == bravo
        assert not schema_exists("t_alpha_again") and not DealerGroup.objects.filter(slug="bravo-two").exists()


def test_a_dump_from_newer_code_is_refused(exported, django_db_blocker, tmp_path):
    archive, _pk, _before = exported
    members = _members(archive)
    manifest = json.loads(members["manifest.json"])
    manifest["migrations"].append(["customers", "9999_from_the_future"])
    members["manifest.json"] = json.dumps(manifest).encode()
    newer = tmp_path / "newer.tar"
    with tarfile.open(newer, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with django_db_blocker.unblock():
        with pytest.raises(CommandError, match=r"newer version.*customers\.9999_from_the_future"):
            call_command("group_restore", str(newer), "--schema", "t_alpha_future", "--slug", "alpha-future")
        assert not schema_exists("t_alpha_future")


def test_bad_input_is_told_plainly(cast, django_db_blocker, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_text("not an archive")
    with django_db_blocker.unblock():
        with pytest.raises(CommandError, match="No dealer group"):
            call_command("group_export", "nobody", "--out", str(tmp_path / "x.tar"))
        with pytest.raises(CommandError, match="not a dealer group archive"):
            call_command("group_restore", str(junk), "--schema", "t_junk")
        with pytest.raises(CommandError, match="not a file"):
            call_command("group_restore", str(tmp_path / "missing.tar"), "--schema", "t_junk")
