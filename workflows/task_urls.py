from django.urls import path

from . import task_views

urlpatterns = [
    path("", task_views.task_list, name="actions"),
    path("export.xlsx", task_views.task_export, name="actions_export"),
    path("<int:pk>/", task_views.task_detail, name="task_detail"),
    path("<int:pk>/complete/", task_views.task_complete, name="task_complete"),
    path("<int:pk>/reschedule/", task_views.task_reschedule, name="task_reschedule"),
    path("<int:pk>/snooze/", task_views.task_snooze, name="task_snooze"),
    path("new/customer/<int:customer_pk>/", task_views.task_add, name="task_add"),
]
