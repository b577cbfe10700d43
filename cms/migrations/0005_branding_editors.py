"""Dealer admins (Wagtail's Moderators) may change their site's branding: logo, colours and contacts.
Without this only a superuser could, and tenants have none."""

from django.db import migrations


def branding_allow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes.ContentType")
    Permission = apps.get_model("auth.Permission")
    Group = apps.get_model("auth.Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="cms", model="brandingsettings")
    permission, _ = Permission.objects.get_or_create(content_type=content_type, codename="change_brandingsettings",
                                                     defaults={"name": "Can change branding"})
    for group in Group.objects.filter(name="Moderators"):
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [("cms", "0004_content_locales")]

    operations = [migrations.RunPython(branding_allow, migrations.RunPython.noop)]
