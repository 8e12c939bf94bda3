from django.urls import path

from .views import bulk, detail, editing, listing

urlpatterns = [
    path("", listing.customer_list, name="customers"),
    path("export.xlsx", listing.customer_export, name="customers_export"),
    path("add/", editing.customer_add, name="customer_add"),
    path("<int:pk>/edit/", editing.customer_edit, name="customer_edit"),
    path("bulk/", bulk.bulk_update, name="customers_bulk_update"),
    path("mass-assign/", bulk.mass_assign, name="customers_mass_assign"),
    path("mass-assign/template.xlsx", bulk.mass_assign_template, name="customers_mass_assign_template"),
    path("upload/", bulk.upload, name="customers_upload"),
    path("upload/template.xlsx", bulk.upload_template, name="customers_upload_template"),
    path("<int:pk>/", detail.customer_detail, name="customer_detail"),
    path("<int:pk>/timeline/", detail.customer_timeline, name="customer_timeline"),
    path("<int:pk>/notes/", detail.customer_add_note, name="customer_add_note"),
    path("<int:pk>/files/", detail.customer_add_file, name="customer_add_file"),
    path("<int:pk>/files/<int:file_pk>/", detail.customer_file, name="customer_file"),
    path("<int:pk>/promise/", detail.customer_promise, name="customer_promise"),
    path("<int:pk>/contacts/<int:contact_pk>/", detail.contact_row, name="contact_row"),
]
