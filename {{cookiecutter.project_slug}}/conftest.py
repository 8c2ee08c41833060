"""The fixtures an app's tests use: sockets through the whole ASGI stack, users, logged-in sockets.

Users are created with a one-iteration password hasher, so they cost nothing. The rest of the machinery
(`pytest --redis`, `redis_url`, `process_env`, `uvicorn_server`, `browser`, `new_page`, `crashable_server`,
`log_in`, `screenshot`) is the plugin in {{ cookiecutter.project_slug }}/testing/.
"""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.tests import sessions
from {{ cookiecutter.project_slug }}.tests.hashers import PASSWORD_HASHERS

pytest_plugins = ["{{ cookiecutter.project_slug }}.testing.plugin"]  # it loads testing/screenshots.py too

ALLOWED_ORIGIN = (b"origin", b"http://localhost")


def communicator(path, headers, app=application):  # with the Host of http://localhost, which the Origin check compares
    host = [] if any(name == b"host" for name, _ in headers) else [(b"host", b"localhost")]
    return WebsocketCommunicator(app, path, headers=[*host, *headers])


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = PASSWORD_HASHERS


@pytest.fixture
async def connect():
    """`await connect("/ws/echo/")` returns a connected WebsocketCommunicator (closed at teardown);
    `headers=` replaces the allowed Origin header; `app=` an ASGI app of the test's own replaces the project's."""
    opened = []

    async def open_socket(path, headers=(ALLOWED_ORIGIN,), app=application):
        socket = communicator(path, headers, app)
        connected, _ = await socket.connect()
        assert connected, f"{path} refused the connection"
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        await socket.disconnect()


@pytest.fixture
def refused():
    """`await refused(path, headers)` asserts the whole stack refuses the socket (before accepting it)."""

    async def refuse(path, headers=(ALLOWED_ORIGIN,)):
        connected, _ = await communicator(path, headers).connect()
        assert not connected, f"{path} accepted a socket it should refuse"

    return refuse


@pytest.fixture
def session_headers():
    """`await session_headers(user)`: socket headers (Host, allowed Origin, session cookie) logged in as user, in
    a new session each call, as from a browser of its own: logging in another user ends no socket's session."""

    async def headers_for(user):
        _, cookie = await sessions.log_in(user)
        return [(b"host", b"localhost"), ALLOWED_ORIGIN, (b"cookie", cookie.encode())]

    return headers_for


@pytest.fixture
def make_user(django_user_model):
    """`await make_user("alice")` creates a user whose password is "pw-<name>-123"."""

    async def create(username, **extra):
        return await sync_to_async(django_user_model.objects.create_user)(
            username, password=f"pw-{username}-123", **extra
        )

    return create
