from django.urls import path

from . import views

urlpatterns = [
    path("", views.customer_list, name="customers"),
    path("export.xlsx", views.customer_export, name="customers_export"),
]
