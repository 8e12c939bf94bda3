from django.urls import path

from . import views

workflow_urls = [
    path("", views.workflow_list, name="workflows"),
    path("add/", views.workflow_add, name="workflow_add"),
    path("<int:pk>/", views.workflow_edit, name="workflow_edit"),
    path("<int:pk>/duplicate/", views.workflow_duplicate, name="workflow_duplicate"),
    path("<int:pk>/default/", views.workflow_set_default, name="workflow_set_default"),
    path("<int:pk>/delete/", views.workflow_delete, name="workflow_delete"),
]

action_urls = [
    path("<int:pk>/actions/add/", views.action_add, name="action_add"),
    path("actions/<int:pk>/", views.action_edit, name="action_edit"),
    path("actions/<int:pk>/delete/", views.action_delete, name="action_delete"),
    path("actions/preview/", views.action_preview, name="action_preview"),
]

urlpatterns = [*workflow_urls, *action_urls]
