import json

from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from {{ cookiecutter.project_slug }}.tokens import MAX_AGE_SECONDS, make_token


def home(request):
    """List the project apps that have a page (an `index` URL) so removing an app removes its link."""
    demos = []
    for app in settings.PROJECT_APPS:
        try:
            url = reverse(f"{app}:index")
        except NoReverseMatch:
            continue
        config = apps.get_app_config(app)
        demos.append({"url": url, "name": config.verbose_name, "about": getattr(config, "about", "")})
    return render(request, "home.html", {"demos": demos})


@csrf_exempt  # scripts have no CSRF cookie; another site's page cannot read the JSON answer anyway
@require_POST
def ws_token(request):
    """A short-lived token for `?token=` on socket URLs, for clients that cannot send the session cookie.

    Send username and password (form-encoded or JSON), or nothing while logged in with a session.
    """
    if request.content_type == "application/json":
        try:
            credentials = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JsonResponse({"error": "The body is not valid JSON."}, status=400)
        if not isinstance(credentials, dict):
            return JsonResponse({"error": 'Send {"username": ..., "password": ...}.'}, status=400)
    else:
        credentials = request.POST
    username, password = credentials.get("username"), credentials.get("password")
    if isinstance(username, str) and isinstance(password, str) and username and password:
        user = authenticate(request, username=username, password=password)
        if user is None:
            return JsonResponse({"error": "Wrong username or password."}, status=401)
    elif request.user.is_authenticated:
        user = request.user
    else:
        return JsonResponse({"error": "Send username and password, or log in first."}, status=401)
    return JsonResponse({"token": make_token(user), "expires_in": MAX_AGE_SECONDS})
