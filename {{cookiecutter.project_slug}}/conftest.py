"""Fixtures shared by every app's tests."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.project_slug }}.asgi import application

ALLOWED_ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture
async def connect():
    """Open sockets through the whole ASGI stack (origin check, auth, routing); all closed at teardown.

    `await connect("/ws/echo/")` returns a connected WebsocketCommunicator; `headers=` replaces the
    allowed Origin header.
    """
    opened = []

    async def open_socket(path, headers=(ALLOWED_ORIGIN,)):
        communicator = WebsocketCommunicator(application, path, headers=list(headers))
        connected, _ = await communicator.connect()
        assert connected, f"{path} refused the connection"
        opened.append(communicator)
        return communicator

    yield open_socket
    for communicator in opened:
        await communicator.disconnect()


@pytest.fixture
def refused():
    """`await refused(path, headers)` asserts the whole stack refuses the socket (before accepting it)."""

    async def refuse(path, headers=(ALLOWED_ORIGIN,)):
        communicator = WebsocketCommunicator(application, path, headers=list(headers))
        connected, _ = await communicator.connect()
        assert not connected, f"{path} accepted a socket it should refuse"

    return refuse


@pytest.fixture
def session_headers(client):
    """`await session_headers(user)` returns socket headers (allowed Origin, session cookie) logged in as user."""

    async def headers_for(user):
        await sync_to_async(client.force_login)(user)
        return [ALLOWED_ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]

    return headers_for


@pytest.fixture
def make_user(django_user_model):
    """`await make_user("alice")` creates a user whose password is "pw-<name>-123"."""

    async def create(username, **extra):
        return await sync_to_async(django_user_model.objects.create_user)(
            username, password=f"pw-{username}-123", **extra
        )

    return create
