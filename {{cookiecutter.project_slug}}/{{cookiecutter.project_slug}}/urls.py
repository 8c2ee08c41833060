"""Pages: the home page, the admin, login, the socket-token API, and each project app's urls.py under /<app>/."""

from django.contrib import admin
from django.urls import include, path

from {{ cookiecutter.project_slug }}.project_apps import app_modules
from {{ cookiecutter.project_slug }}.views import home, ws_token

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/ws-token/", ws_token, name="ws-token"),
    *(path(f"{app}/", include(module)) for app, module in app_modules("urls")),
]
