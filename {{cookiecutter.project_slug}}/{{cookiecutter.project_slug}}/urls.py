"""Pages: the home page, the admin, login, and each project app's urls.py under /<app>/."""

from django.contrib import admin
from django.urls import include, path

from {{ cookiecutter.project_slug }}.project_apps import app_modules
from {{ cookiecutter.project_slug }}.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    *(path(f"{app}/", include(module)) for app, module in app_modules("urls")),
]
