"""Pages: the home page, the admin, login, the socket-token API, the health probes, and each project app's urls.py
under /<app>/."""

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.utils.module_loading import module_has_submodule

from {{ cookiecutter.project_slug }}.ratelimit import LoginForm
from {{ cookiecutter.project_slug }}.views import asyncapi_json, healthz, home, readyz, ws_token

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    # Django's login view with the form that says when a rate-limited login may be tried again (ratelimit.py).
    path("accounts/login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/ws-token/", ws_token, name="ws-token"),
    # The AsyncAPI description of every socket, for staff users (asyncapi.py; `manage.py asyncapi` prints it).
    path("asyncapi.json", asyncapi_json, name="asyncapi"),
    # Probes for health checks, load balancers and orchestrators (views.py): is the process up, can it work now.
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # For pages that link no icon (the admin's): browsers ask for /favicon.ico.
    path("favicon.ico", lambda request: redirect(static("site/favicon.svg"))),
    *(
        path(f"{config.label}/", include(f"{config.name}.urls"))
        for config in map(apps.get_app_config, settings.PROJECT_APPS)
        if module_has_submodule(config.module, "urls")
    ),
]
