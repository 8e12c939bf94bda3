from django.urls import include, path

from . import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("", include("peakflo.auth_urls")),
    path("settings/", include("peakflo.settings_urls")),
    path("customers/", include("customers.urls")),
    path("", views.dashboard, name="dashboard"),
]
