from django.urls import path

from . import reason_views as views

urlpatterns = [
    path("", views.reason_list, name="dispute_reasons"),
    path("add/", views.reason_add, name="dispute_reason_add"),
    path("<int:pk>/rename/", views.reason_rename, name="dispute_reason_rename"),
    path("<int:pk>/move/", views.reason_move, name="dispute_reason_move"),
    path("<int:pk>/retire/", views.reason_retire, name="dispute_reason_retire"),
]
