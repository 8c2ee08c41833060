"""The socket paths a project routes, for tests that must cover every consumer, including future apps'.

Each route's parameters are filled with a sample value its converter accepts (SAMPLE_VALUES: `<int:...>` gets 1,
others "lobby"). A consumer that closes such a socket at once (an id the empty test database lacks) cannot be
tested there: closed_at_connect() tells, and the project-wide tests skip it, naming it in pytest's summary.
"""

import asyncio
import re

from django.urls.resolvers import RoutePattern

SAMPLE_VALUES = {"int": "1", "uuid": "00000000-0000-4000-8000-000000000000"}
DEFAULT_SAMPLE = "lobby"  # str, slug, path, and converters of an app's own
CONNECT_SECONDS = 0.1  # how long a consumer may take to close a socket it refuses at connect


def routed_paths():
    """A path for every `path()` socket route of every app in PROJECT_APPS, route parameters filled in."""
    from {{ cookiecutter.project_slug }}.routing import websocket_urlpatterns  # needs Django set up

    return [sample_path(route) for route in websocket_urlpatterns if isinstance(route.pattern, RoutePattern)]


def sample_path(route):
    """The route's path, each parameter filled with its converter's sample value."""
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", sample_value, str(route.pattern))


def sample_value(parameter: re.Match[str]) -> str:
    return SAMPLE_VALUES.get(parameter[1] or "", DEFAULT_SAMPLE)


async def closed_at_connect(socket):
    """The close message of a connected WebsocketCommunicator that its consumer closes within CONNECT_SECONDS
    (frames sent before it are dropped), or None while it stays open."""
    while not await socket.receive_nothing(timeout=CONNECT_SECONDS):
        output = await socket.receive_output()
        if output["type"] == "websocket.close":
            return output
    return None


async def still_open(sockets):
    """The {path: socket} of `sockets` whose consumers did not close them at connect (closed_at_connect, all
    checked side by side)."""
    closes = await asyncio.gather(*(closed_at_connect(socket) for socket in sockets.values()))
    return {path: socket for (path, socket), close in zip(sockets.items(), closes, strict=True) if close is None}


def untestable(path, close):
    """The skip reason for a routed socket closed at connect."""
    return (
        f"{path} was closed at connect ({close.get('code')}) for the sample parameters of testing/routes.py: the "
        "project-wide tests need a socket that stays open; this consumer's own tests cover it"
    )
