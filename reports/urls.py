from django.urls import path

from . import (
    analysis_views,
    credit_control_views,
    customer_status_views,
    invoice_status_views,
    team_activity_views,
    views,
)

# Each report adds its own lines below (one module per report: reports/<report>_views.py).
urlpatterns = [
    path("", views.reports_index, name="reports"),
    path("invoices/", invoice_status_views.invoice_status_report, name="report_invoice_status"),
    path("invoices/export/", invoice_status_views.invoice_status_export, name="report_invoice_status_export"),
    path("customers/", customer_status_views.customer_status, name="report_customer_status"),
    path(
        "customers/export/",
        customer_status_views.customer_status_export,
        name="report_customer_status_export",
    ),
    path(
        "customers/<int:pk>/tags/",
        customer_status_views.customer_status_tags,
        name="report_customer_status_tags",
    ),
    path(
        "customers/<int:pk>/promise/",
        customer_status_views.customer_status_promise,
        name="report_customer_status_promise",
    ),
    path(
        "customers/<int:pk>/task/",
        customer_status_views.customer_status_task,
        name="report_customer_status_task",
    ),
    path("aging-card/", analysis_views.dashboard_aging_card, name="report_dashboard_aging"),
    path("aging-by-manager/", analysis_views.aging_by_manager, name="report_aging_by_manager"),
    path(
        "aging-by-manager/export/",
        analysis_views.aging_by_manager_export,
        name="report_aging_by_manager_export",
    ),
    path("disputes/", analysis_views.disputes_report, name="report_disputes"),
    path("disputes/export/", analysis_views.disputes_report_export, name="report_disputes_export"),
    path("actions/", analysis_views.actions_report, name="report_actions"),
    path("actions/export/", analysis_views.actions_report_export, name="report_actions_export"),
    path("credit-control/", credit_control_views.credit_control_report, name="report_credit_control"),
    path(
        "credit-control/export/",
        credit_control_views.credit_control_export,
        name="report_credit_control_export",
    ),
    path("team-activity/", team_activity_views.team_activity_report, name="report_team_activity"),
    path(
        "team-activity/export/",
        team_activity_views.team_activity_export,
        name="report_team_activity_export",
    ),
]
