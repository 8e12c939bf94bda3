"""Settings → Integrations (connect Xero / QuickBooks, sync now, the sync log) and the Xero webhook."""

from django.urls import include, path

from . import views, webhooks

integration_urls = [
    path("", views.integrations, name="integrations"),
    path("connect/<str:provider>/", views.connect, name="integrations_connect"),
    path("callback/", views.callback, name="integrations_callback"),
    path("choose/", views.choose_organisation, name="integrations_choose"),
    path("<int:pk>/sync/", views.sync_now, name="integrations_sync"),
    path("<int:pk>/progress/", views.sync_progress, name="integrations_progress"),
    path("<int:pk>/disconnect/", views.disconnect, name="integrations_disconnect"),
    path("log/", views.sync_log, name="integrations_log"),
    path("log/export.xlsx", views.sync_log_export, name="integrations_log_export"),
]

urlpatterns = [
    path("settings/integrations/", include(integration_urls)),
    path("webhooks/xero/", webhooks.xero, name="xero_webhook"),
]
