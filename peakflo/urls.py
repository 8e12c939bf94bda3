from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("peakflo.web_urls")),
]
# No MEDIA_URL route, even in development: uploads are served by views that check who may see them.
