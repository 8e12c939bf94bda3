from django.urls import path

from .views import detail, listing

urlpatterns = [
    path("", listing.customer_list, name="customers"),
    path("export.xlsx", listing.customer_export, name="customers_export"),
    path("<int:pk>/", detail.customer_detail, name="customer_detail"),
    path("<int:pk>/timeline/", detail.customer_timeline, name="customer_timeline"),
    path("<int:pk>/notes/", detail.customer_add_note, name="customer_add_note"),
    path("<int:pk>/files/", detail.customer_add_file, name="customer_add_file"),
    path("<int:pk>/files/<int:file_pk>/", detail.customer_file, name="customer_file"),
    path("<int:pk>/promise/", detail.customer_promise, name="customer_promise"),
    path("<int:pk>/contacts/<int:contact_pk>/", detail.contact_row, name="contact_row"),
]
