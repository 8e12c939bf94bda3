from django.db import migrations


def schedule_refresh(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.update_or_create(
        name="Reports: rebuild the dashboard's kept figures",
        defaults={"task": "reports.refresh_figures", "interval": every_five_minutes, "enabled": True},
    )


def unschedule_refresh(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        task="reports.refresh_figures"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_figures"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_refresh, unschedule_refresh)]
