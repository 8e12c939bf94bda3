from django.db import migrations

DEFAULT_TIME_ZONE = "Asia/Singapore"  # Company.time_zone's default


def schedule_digest(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    Company = apps.get_model("peakflo", "Company")
    time_zone = Company.objects.values_list("time_zone", flat=True).first() or DEFAULT_TIME_ZONE
    seven_every_morning, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone=time_zone
    )
    PeriodicTask.objects.update_or_create(
        name="Tasks: daily email of today's and overdue tasks",
        defaults={"task": "workflows.daily_task_digest", "crontab": seven_every_morning, "enabled": True},
    )


def unschedule_digest(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        task="workflows.daily_task_digest"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0004_tick_schedule"),
        ("peakflo", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_digest, unschedule_digest)]
