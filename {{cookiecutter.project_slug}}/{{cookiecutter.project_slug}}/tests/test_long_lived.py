"""Sockets open longer than the channel layer's group_expiry: both layers drop a group membership that old even
while its socket is open, so such a socket would stay open and hear nothing more. Each socket is closed with
EXPIRED before that (middleware.SocketLifetimeMiddleware), and the page reconnects. Tested with a group_expiry
of one second, on both layers (pytest and pytest --redis), for every route whose consumer joins a group.
"""

import asyncio
import re
from types import SimpleNamespace

import pytest
from channels.layers import get_channel_layer
from channels.testing import ApplicationCommunicator, WebsocketCommunicator

from {{ cookiecutter.project_slug }} import middleware
from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.consumers import EXPIRED
from {{ cookiecutter.project_slug }}.groups import group_name
from {{ cookiecutter.project_slug }}.testing.routes import routed_paths, still_open

pytestmark = pytest.mark.django_db(transaction=True)

GROUP_EXPIRY = 1  # seconds
WAIT = 5 * GROUP_EXPIRY  # a bound on hanging, not a speed limit


@pytest.fixture
def short_group_expiry(settings, channel_layers):
    layers = {
        alias: {**layer, "CONFIG": {**layer.get("CONFIG", {}), "group_expiry": GROUP_EXPIRY}}
        for alias, layer in channel_layers.items()
    }
    settings.CHANNEL_LAYERS = layers  # Channels drops its cached layers when this setting changes
    assert get_channel_layer().group_expiry == GROUP_EXPIRY


@pytest.fixture
def headers_for(make_user, session_headers):
    """`await headers_for(path)`: socket headers logged in as that path's own user (session_headers): the sockets
    of one user share groups (logins.py) that each route's probe would reach."""

    async def headers(path):
        return await session_headers(await make_user("longlived" + re.sub(r"\W", "-", path)))

    return headers


async def joined_groups(path, headers):
    """The groups a socket on `path` joins when it connects (and the open socket)."""
    layer = get_channel_layer()
    joined = []
    real_group_add = layer.group_add

    async def recording_group_add(group, channel):
        joined.append(group)
        await real_group_add(group, channel)

    layer.group_add = recording_group_add
    try:
        socket = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await socket.connect()
    finally:
        del layer.group_add
    assert connected, path
    return socket, joined


# The sockets of each test are open side by side, so that the test waits out group_expiry once, not per route.


async def test_every_socket_that_joins_groups_is_closed_before_they_expire(short_group_expiry, headers_for):
    joining = {}
    for path in routed_paths():
        socket, groups = await joined_groups(path, await headers_for(path))
        if groups:
            joining[path] = socket
        else:
            await socket.disconnect()
    joining = await still_open(joining)  # one its consumer closed sits in no group now, whatever it joined
    if not joining:
        pytest.skip("no routed consumer joins a group and stays open")

    async def closed_expired(path, socket):
        # Past group_expiry, the socket must have been closed: otherwise it sits in no group any more.
        output = await socket.receive_output(timeout=WAIT)
        while output["type"] == "websocket.send":  # what its consumer sends meanwhile
            output = await socket.receive_output(timeout=WAIT)
        assert output == {"type": "websocket.close", "code": EXPIRED}, (path, output)
        await socket.wait(timeout=WAIT)

    await asyncio.gather(*(closed_expired(path, socket) for path, socket in joining.items()))


PROBES = {
    "/ws/chat/lobby/": {
        "type": "history.entry",
        "stream": group_name("chat", "room", "lobby"),
        "seq": 1,
        "data": {"message": "still here?", "user": "probe"},
    },
    "/ws/notifications/": {"type": "push.message", "payload": {"probe": 1}},
    "/ws/tasks/": {"type": "push.message", "payload": {"probe": 1}},
}


async def test_a_socket_open_past_group_expiry_hears_its_groups_or_is_closed(short_group_expiry, headers_for):
    paths = [path for path in PROBES if path in routed_paths()]
    if not paths:
        pytest.skip(f"none of {list(PROBES)}, the sockets this test knows a message for, is routed")
    headers = {path: await headers_for(path) for path in paths}
    opened = {path: await joined_groups(path, headers[path]) for path in paths}
    await asyncio.sleep(GROUP_EXPIRY * 2.5)

    async def hears_or_is_closed(path):
        socket, groups = opened[path]
        for group in groups:
            await get_channel_layer().group_send(group, PROBES[path])
        output = await socket.receive_output(timeout=WAIT)
        if output["type"] == "websocket.send":
            return await socket.disconnect()  # still a member: it heard the probe
        assert output == {"type": "websocket.close", "code": EXPIRED}, (path, output)
        return path

    closed = [path for path in await asyncio.gather(*(hears_or_is_closed(path) for path in paths)) if path]
    # The page reconnects, joins again, and hears its groups.
    for path in closed:
        socket, groups = await joined_groups(path, headers[path])
        for group in groups:
            await get_channel_layer().group_send(group, PROBES[path])
        assert (await socket.receive_output(timeout=WAIT))["type"] == "websocket.send", path
        await socket.disconnect()


@pytest.fixture
def deadline_in_a_tenth_of_a_second(monkeypatch):
    monkeypatch.setattr(middleware, "get_channel_layer", lambda: SimpleNamespace(group_expiry=0.1))
    monkeypatch.setattr(middleware.SocketLifetimeMiddleware, "MIN_AGE", 1.0)
    monkeypatch.setattr(middleware.SocketLifetimeMiddleware, "MAX_AGE", 1.0)


async def test_a_reply_sent_by_a_handler_past_the_deadline_reaches_the_client_before_the_close(
    deadline_in_a_tenth_of_a_second,
):
    async def app(scope, receive, send):
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        assert (await receive())["type"] == "websocket.receive"
        await asyncio.sleep(0.3)  # the handler works past the deadline
        await send({"type": "websocket.send", "text": "reply"})
        assert (await receive()) == {"type": "websocket.disconnect", "code": EXPIRED}

    socket = ApplicationCommunicator(middleware.SocketLifetimeMiddleware(app), {"type": "websocket", "path": "/"})
    await socket.send_input({"type": "websocket.connect"})
    assert (await socket.receive_output(WAIT))["type"] == "websocket.accept"
    await socket.send_input({"type": "websocket.receive", "text": "request"})
    outputs = [await socket.receive_output(WAIT), await socket.receive_output(WAIT)]
    await socket.wait(WAIT)
    assert outputs == [{"type": "websocket.send", "text": "reply"}, {"type": "websocket.close", "code": EXPIRED}]


async def test_a_socket_waiting_for_its_client_is_closed_at_the_deadline(deadline_in_a_tenth_of_a_second):
    got = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        got.append(await receive())

    socket = ApplicationCommunicator(middleware.SocketLifetimeMiddleware(app), {"type": "websocket", "path": "/"})
    await socket.send_input({"type": "websocket.connect"})
    await socket.receive_output(WAIT)
    assert await socket.receive_output(WAIT) == {"type": "websocket.close", "code": EXPIRED}
    await socket.wait(WAIT)
    assert got == [{"type": "websocket.disconnect", "code": EXPIRED}]
