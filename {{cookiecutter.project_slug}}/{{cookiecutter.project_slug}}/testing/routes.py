"""The socket paths a project routes, for tests that must cover every consumer, including future apps'."""

import re

from django.urls.resolvers import RoutePattern


def routed_paths():
    """A path for every `path()` socket route of every app in PROJECT_APPS, route parameters filled in."""
    from {{ cookiecutter.project_slug }}.routing import websocket_urlpatterns  # needs Django set up

    return [
        "/" + re.sub(r"<[^>]+>", "lobby", str(route.pattern))
        for route in websocket_urlpatterns
        if isinstance(route.pattern, RoutePattern)
    ]
