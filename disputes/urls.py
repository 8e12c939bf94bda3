from django.urls import path

from peakflo import views as peakflo_views

from . import views

urlpatterns = [
    path("", peakflo_views.coming, {"section": "disputes"}, name="disputes"),
    path("<int:pk>/", views.dispute_detail, name="dispute_detail"),
]
