from django.urls import path

from .views import detail, editing, imports, listing, pdf, promise

urlpatterns = [
    path("", listing.invoice_list, name="invoices"),
    path("export.xlsx", listing.invoice_export, name="invoices_export"),
    path("add/", editing.invoice_add, name="invoice_add"),
    path("import/", imports.invoices_import, name="invoices_import"),
    path("import/template.xlsx", imports.import_template, name="invoices_import_template"),
    path("import/<int:pk>/", imports.import_job, name="import_job"),
    path("<int:pk>/", detail.invoice_detail, name="invoice_detail"),
    path("<int:pk>/edit/", editing.invoice_edit, name="invoice_edit"),
    path("<int:pk>/void/", detail.invoice_void, name="invoice_void"),
    path("<int:pk>/mark-paid/", detail.invoice_mark_paid, name="invoice_mark_paid"),
    path("<int:pk>/reminders/", detail.invoice_reminders, name="invoice_reminders"),
    path("<int:pk>/promise/", promise.invoice_promise, name="invoice_promise"),
    path("<int:pk>/files/", detail.invoice_attach, name="invoice_attach"),
    path("<int:pk>/files/<int:file_pk>/", detail.invoice_file, name="invoice_file"),
    path("<int:pk>/pdf/", pdf.invoice_pdf, name="invoice_pdf"),
]
