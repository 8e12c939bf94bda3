from django.urls import path

from . import views

urlpatterns = [
    path("", views.dispute_list, name="disputes"),
    path("export.xlsx", views.dispute_export, name="disputes_export"),
    path("raise/<int:invoice_pk>/", views.dispute_raise, name="dispute_raise"),
    path("<int:pk>/", views.dispute_detail, name="dispute_detail"),
    path("<int:pk>/comments/", views.dispute_comment, name="dispute_comment"),
    path("<int:pk>/resolve/", views.dispute_resolve, name="dispute_resolve"),
    path("<int:pk>/files/<int:comment_pk>/", views.dispute_file, name="dispute_file"),
]
