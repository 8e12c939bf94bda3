from django.urls import include, path

from reports import views as reports_views

from . import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("", include("accounting.urls")),  # Settings → Integrations, /webhooks/xero/
    path("webhooks/", include("workflows.webhooks")),
    path("branding/logo", views.company_logo, name="company_logo"),
    path("", include("peakflo.auth_urls")),
    path("settings/workflows/", include("workflows.urls")),
    path("settings/dispute-reasons/", include("disputes.reason_urls")),
    path("settings/", include("peakflo.settings_urls")),
    path("customers/<int:pk>/message/", include("workflows.adhoc_urls")),
    path("customers/<int:pk>/portal-messages/", include("portal.actions_staff_urls")),
    path("customers/", include("customers.urls")),
    path("invoices/", include("invoices.urls")),
    path("payments/", include("invoices.payment_urls")),
    path("credit-notes/", include("invoices.credit_note_urls")),
    path("", reports_views.dashboard, name="dashboard"),
    path("settings/", views.settings_index, name="settings_index"),
    # Sections still to be built: honest placeholders until their apps replace these lines.
    path("actions/", include("workflows.task_urls")),
    path("disputes/", include("disputes.urls")),
    path("portal/", include("portal.urls")),
    path("reports/", include("reports.urls")),
]
