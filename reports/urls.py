from django.urls import path

from . import invoice_status_views, views

# Each report adds its own lines below (one module per report: reports/<report>_views.py).
urlpatterns = [
    path("", views.reports_index, name="reports"),
    path("invoices/", invoice_status_views.invoice_status_report, name="report_invoice_status"),
    path("invoices/export/", invoice_status_views.invoice_status_export, name="report_invoice_status_export"),
]
