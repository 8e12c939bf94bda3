from django.urls import path

from . import settings_views as views

user_urls = [
    path("users/", views.users, name="settings_users"),
    path("users/invite/", views.user_invite, name="settings_user_invite"),
    path("users/<int:pk>/", views.user_edit, name="settings_user_edit"),
    path("users/<int:pk>/default/", views.user_default, name="settings_user_default"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="settings_user_deactivate"),
    path("users/<int:pk>/reactivate/", views.user_reactivate, name="settings_user_reactivate"),
    path(
        "users/<int:pk>/resend-invitation/",
        views.user_resend_invitation,
        name="settings_user_resend_invitation",
    ),
]

urlpatterns = [
    *user_urls,
    path("company/", views.company, name="settings_company"),
    path("holidays/", views.holidays, name="settings_holidays"),
    path("holidays/export.xlsx", views.holidays_export, name="settings_holidays_export"),
    path("holidays/<int:pk>/delete/", views.holiday_delete, name="settings_holiday_delete"),
]
