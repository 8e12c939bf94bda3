from django.db import migrations


def schedule_sync(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.update_or_create(
        name="Accounting: sync every connected organisation",
        defaults={"task": "accounting.sync_all", "interval": every_five_minutes, "enabled": True},
    )


def unschedule_sync(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="accounting.sync_all").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_sync, unschedule_sync)]
