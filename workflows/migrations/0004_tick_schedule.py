from django.db import migrations


def schedule_tick(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.update_or_create(
        name="Workflow engine: schedule due reminders",
        defaults={"task": "workflows.tick", "interval": every_five_minutes, "enabled": True},
    )


def unschedule_tick(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="workflows.tick").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0003_default_workflow"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_tick, unschedule_tick)]
