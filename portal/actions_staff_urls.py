"""Staff side of the portal question thread, under /customers/<pk>/portal-messages/."""

from django.urls import path

from . import actions_staff_views

urlpatterns = [
    path("", actions_staff_views.portal_messages, name="customer_portal_messages"),
]
