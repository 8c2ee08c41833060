from django.contrib.auth import authenticate
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from {{ cookiecutter.project_slug }} import health, strictjson
from {{ cookiecutter.project_slug }}.context_processors import app_pages
from {{ cookiecutter.project_slug }}.logins import session_id
from {{ cookiecutter.project_slug }}.ratelimit import retry_after, wait_message
from {{ cookiecutter.project_slug }}.tokens import MAX_AGE_SECONDS, clean_socket_path, make_token


def home(request):
    """List the project apps that have a page (an `index` URL) so removing an app removes its link; under each, the
    app's other pages that its AppConfig names in `more_pages` ({URL name in the app's namespace: what it is})."""
    project_apps = [
        {
            "url": url,
            "name": config.verbose_name,
            "about": getattr(config, "about", ""),
            "pages": [
                {"url": reverse(f"{config.label}:{name}"), "about": about}
                for name, about in getattr(config, "more_pages", {}).items()
            ],
        }
        for config, url in app_pages()
    ]
    return render(request, "home.html", {"project_apps": project_apps})


@csrf_exempt  # scripts have no CSRF cookie; another site's page cannot read the JSON answer anyway
@require_POST
def ws_token(request):
    """A short-lived token for `?token=` on the socket URLs under `path`, for clients that cannot send the session
    cookie (tokens.py says when it is refused).

    Send `path` (e.g. "/ws/notifications/", or a prefix ending with "/") and username and password, form-encoded
    or as JSON, or `path` alone while logged in with a session (the token then ends with that session's logout).
    Answers 200 {"token", "expires_in", "path"}; 400 for a malformed body or path; 401 for wrong credentials;
    429 with Retry-After (seconds) while the login rate limits (ratelimit.py) hold this client or username back.
    """
    if request.content_type == "application/json":
        try:
            credentials = strictjson.loads(request.body or b"{}")
        except strictjson.InvalidJSON as error:
            return JsonResponse({"error": f"The body is not valid JSON: {error}"}, status=400)
        if not isinstance(credentials, dict):
            return JsonResponse({"error": 'Send {"username": ..., "password": ...}.'}, status=400)
    else:
        credentials = request.POST
    try:
        path = clean_socket_path(credentials.get("path"))
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    username, password = credentials.get("username"), credentials.get("password")
    login_session = None
    if isinstance(username, str) and isinstance(password, str) and username and password:
        wait = retry_after(request, username)
        if wait:
            response = JsonResponse({"error": wait_message(wait)}, status=429)
            response["Retry-After"] = str(wait)
            return response
        user = authenticate(request, username=username, password=password)
        if user is None:
            return JsonResponse({"error": "Wrong username or password."}, status=401)
    elif request.user.is_authenticated:
        user, login_session = request.user, session_id(request.session.session_key)
    else:
        return JsonResponse({"error": "Send username and password, or log in first."}, status=401)
    token = make_token(user, path, session_id=login_session)
    return JsonResponse({"token": token, "expires_in": MAX_AGE_SECONDS, "path": path})


@require_safe
def asyncapi_json(request):
    """The AsyncAPI 3.0 document of every socket (asyncapi.py), for staff users: the same as `manage.py asyncapi`,
    with this request's host and ws or wss. Others get 403: nothing in it is secret, but a production site need not
    publish its whole socket API to everyone."""
    if not request.user.is_staff:
        message = "Staff only: log in as a staff user (/admin/), or run `python manage.py asyncapi`."
        return JsonResponse({"error": message}, status=403)
    from {{ cookiecutter.project_slug }}.asyncapi import describe  # pydantic's JSON Schema: only when asked

    document = describe(request.get_host(), "wss" if request.is_secure() else "ws")
    return JsonResponse(document, json_dumps_params={"indent": 2})


# The probes: no login and no https redirect (settings.SECURE_REDIRECT_EXEMPT), never cached, quiet in the logs
# (health.py). Like every request they need a Host from ALLOWED_HOSTS. docs/deploy.md says who calls them.


@never_cache
@require_safe
async def healthz(request):
    """Liveness: 200 {"status": "ok"} for GET or HEAD whenever this process serves HTTP. It does no I/O, so a
    Redis or a database that is down never fails it: restarting the process would not bring them back."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
async def readyz(request):
    """Readiness: whether this process can do its work now. The database must answer a query and a message
    sent through the channel layer must come back, each within health.PROBE_TIMEOUT_SECONDS (2 s; checked side
    by side, so the answer comes within about that long).

    200 {"status": "ready"}; else 503 {"status": "unready", "failed": {"database": "<reason>", "channel_layer":
    "<reason>"}} with an entry, one line, for each that failed.
    """
    failed = await health.readiness_problems()
    if not failed:
        return JsonResponse({"status": "ready"})
    # Not logged per call by Django's request log (health.QuietProbes): health.report() logs each change once.
    return JsonResponse({"status": "unready", "failed": failed}, status=503)
