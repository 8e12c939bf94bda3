from django.urls import path

from . import views

# Each report adds its own lines below (one module per report: reports/<report>_views.py).
urlpatterns = [
    path("", views.reports_index, name="reports"),
]
