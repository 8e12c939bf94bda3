from django.urls import path

from . import credit_note_views as views

urlpatterns = [
    path("", views.credit_note_list, name="credit_notes"),
    path("export.xlsx", views.credit_note_export, name="credit_notes_export"),
    path("new/", views.credit_note_add, name="credit_note_add"),
    path("new/invoices/", views.credit_note_invoice_options, name="credit_note_invoice_options"),
    path("<int:pk>/approve/", views.credit_note_approve, name="credit_note_approve"),
    path("<int:pk>/void/", views.credit_note_void, name="credit_note_void"),
]
