from django.urls import path

from . import adhoc_views

urlpatterns = [
    path("", adhoc_views.customer_message, name="customer_message"),
    path("preview/", adhoc_views.customer_message_preview, name="customer_message_preview"),
]
