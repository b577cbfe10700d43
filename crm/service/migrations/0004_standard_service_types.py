from decimal import Decimal

from django.db import migrations

STANDARD = [("maintenance", Decimal("2.0"), True, 1), ("tyres", Decimal("0.5"), True, 2),
            ("inspection", Decimal("1.0"), True, 3), ("repair", Decimal("1.5"), False, 4)]


def standard_types(apps, schema_editor):
    ServiceType = apps.get_model("service", "ServiceType")
    for code, hours, online, position in STANDARD:
        ServiceType.objects.get_or_create(code=code, defaults={"labour_hours": hours, "online_bookable": online,
                                                               "position": position})


class Migration(migrations.Migration):
    dependencies = [("service", "0003_service_type_name_optional")]
    operations = [migrations.RunPython(standard_types, migrations.RunPython.noop)]
