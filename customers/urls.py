from django.urls import path

from .views import listing

urlpatterns = [
    path("", listing.customer_list, name="customers"),
    path("export.xlsx", listing.customer_export, name="customers_export"),
]
