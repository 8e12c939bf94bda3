from django.apps import AppConfig


class PeakfloConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "peakflo"
    verbose_name = "peakflo"
