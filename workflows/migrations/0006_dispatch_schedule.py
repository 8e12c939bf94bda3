from django.db import migrations


def schedule_dispatch(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    every_ten_minutes, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.update_or_create(
        name="Workflow engine: send due reminders",
        defaults={"task": "workflows.dispatch", "interval": every_minute, "enabled": True},
    )
    PeriodicTask.objects.update_or_create(
        name="Workflow engine: mark messages stuck in sending as unknown",
        defaults={"task": "workflows.sweep", "interval": every_ten_minutes, "enabled": True},
    )


def unschedule_dispatch(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        task__in=["workflows.dispatch", "workflows.sweep"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0005_task_digest_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_dispatch, unschedule_dispatch)]
