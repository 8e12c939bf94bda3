from django.db import migrations

COMMON_REASONS = [
    "Delivery not made",
    "Double charged",
    "Incorrect amount charged",
    "Product was damaged or lost",
]


def load_reasons(apps, schema_editor):
    DisputeReason = apps.get_model("disputes", "DisputeReason")
    for position, name in enumerate(COMMON_REASONS, start=1):
        DisputeReason.objects.get_or_create(name=name, defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [("disputes", "0001_initial")]

    operations = [migrations.RunPython(load_reasons, migrations.RunPython.noop)]
