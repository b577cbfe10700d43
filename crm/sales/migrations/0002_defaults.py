"""Every dealer group starts with the contact cadence of the prospect-level method (H every 1–2 days,
A every 3, B weekly, C every two weeks) and a post-delivery care plan; both are theirs to change."""

from django.db import migrations

CADENCE = {"H": (1, 2), "A": (3, 3), "B": (7, 7), "C": (14, 14)}
CARE_PLAN = ((1, "thank_you"), (3, "survey"), (7, "check_call"), (14, "second_delivery"))


def seed(apps, schema_editor):
    Cadence = apps.get_model("sales", "Cadence")
    CareStep = apps.get_model("sales", "CareStep")
    for level, (low, high) in CADENCE.items():
        Cadence.objects.get_or_create(level=level, defaults={"min_days": low, "max_days": high})
    if not CareStep.objects.exists():
        CareStep.objects.bulk_create(CareStep(days_after=days, kind=kind) for days, kind in CARE_PLAN)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
