"""Staff side of the portal question thread, under /customers/<pk>/portal-messages/."""

from django.urls import path

from . import staff_views

urlpatterns = [
    path("", staff_views.portal_messages, name="customer_portal_messages"),
]
