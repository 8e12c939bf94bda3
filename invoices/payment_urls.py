from django.urls import path

from . import payment_views as views

urlpatterns = [
    path("", views.payment_list, name="payments"),
    path("export/", views.payment_export, name="payments_export"),
    path("new/", views.payment_add, name="payment_add"),
    path("new/allocations/", views.payment_allocations, name="payment_allocations"),
    path("import/", views.payment_import, name="payments_import"),
    path("import/template.xlsx", views.payment_import_template, name="payments_import_template"),
]
