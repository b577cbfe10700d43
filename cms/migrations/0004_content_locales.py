"""The locales a dealer may write its site in (WAGTAIL_CONTENT_LANGUAGES), and the right to translate a
page for the staff who edit the site, in the template every tenant clones and in existing tenants."""

from django.db import migrations

LANGUAGES = ("en", "ru", "zh-hans")
# Wagtail's groups the dealer admin and marketing staff join (accounts.models).
TRANSLATORS = ("Moderators", "Editors")


def locales_create(apps, schema_editor):
    Locale = apps.get_model("wagtailcore.Locale")
    for language in LANGUAGES:
        Locale.objects.get_or_create(language_code=language)


def translators_allow(apps, schema_editor):
    # Permissions are otherwise made after all migrations (post_migrate): made here to be granted.
    ContentType = apps.get_model("contenttypes.ContentType")
    Permission = apps.get_model("auth.Permission")
    Group = apps.get_model("auth.Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="simple_translation", model="simpletranslation")
    permission, _ = Permission.objects.get_or_create(content_type=content_type, codename="submit_translation",
                                                     defaults={"name": "Can submit translations"})
    for group in Group.objects.filter(name__in=TRANSLATORS):
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0003_site_pages"),
        ("simple_translation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    # Backwards: keep the locales (pages may use them) and the permission.
    operations = [
        migrations.RunPython(locales_create, migrations.RunPython.noop),
        migrations.RunPython(translators_allow, migrations.RunPython.noop),
    ]
