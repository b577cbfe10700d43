from datetime import date

from django.db import migrations


def defaults(apps, schema_editor):
    TyreSeason = apps.get_model("service", "TyreSeason")
    ReminderRule = apps.get_model("service", "ReminderRule")
    TyreSeason.objects.get_or_create(rooftop=None, defaults={"autumn": date(2000, 10, 15), "spring": date(2000, 4, 1)})
    ReminderRule.objects.get_or_create(kind="holiday", defaults={"days_ahead": 0, "message": True, "task": False})


class Migration(migrations.Migration):
    dependencies = [("service", "0009_tyre_seasons_holidays")]
    operations = [migrations.RunPython(defaults, migrations.RunPython.noop)]
