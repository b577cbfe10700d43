from django.db import migrations

RULES = [("maintenance", 14, True, False), ("tyres", 14, True, False), ("inspection", 21, True, False),
         ("insurance", 21, True, False), ("warranty", 30, True, True), ("birthday", 0, True, False),
         ("post_delivery", 0, False, True), ("declined", 0, False, True)]


def defaults(apps, schema_editor):
    ReminderRule = apps.get_model("service", "ReminderRule")
    MaintenanceInterval = apps.get_model("service", "MaintenanceInterval")
    for kind, days, message, task in RULES:
        ReminderRule.objects.get_or_create(kind=kind, defaults={"days_ahead": days, "message": message, "task": task})
    MaintenanceInterval.objects.get_or_create(make="", model="", defaults={"every_km": 15000, "every_months": 12})


class Migration(migrations.Migration):
    dependencies = [("service", "0006_reminders")]
    operations = [migrations.RunPython(defaults, migrations.RunPython.noop)]
