"""Sockets open longer than the channel layer's group_expiry: both layers drop a group membership that old even
while its socket is open, so such a socket would stay open and hear nothing more. Each socket is closed with
EXPIRED before that (middleware.SocketLifetimeMiddleware), and the page reconnects. Tested with a group_expiry
of one second, on both layers (pytest and pytest --redis), for every route whose consumer joins a group.
"""

import asyncio

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.consumers import EXPIRED
from {{ cookiecutter.project_slug }}.testing.routes import routed_paths

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
async def logged_in_headers(make_user, session_headers):
    return await session_headers(await make_user("longlived"))


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


async def test_every_socket_that_joins_groups_is_closed_before_they_expire(short_group_expiry, logged_in_headers):
    found = 0
    for path in routed_paths():
        socket, groups = await joined_groups(path, logged_in_headers)
        if not groups:
            await socket.disconnect()
            continue
        found += 1
        # Past group_expiry, the socket must have been closed: otherwise it sits in no group any more.
        output = await socket.receive_output(timeout=WAIT)
        assert output == {"type": "websocket.close", "code": EXPIRED}, (path, output)
        await socket.wait(timeout=WAIT)
    if not found:
        pytest.skip("no routed consumer joins a group (demo apps left out)")


@pytest.mark.parametrize(
    ("path", "probe"),
    [
        ("/ws/chat/lobby/", {"type": "chat.message", "message": "still here?", "user": "probe"}),
        ("/ws/notifications/", {"type": "push.message", "payload": {"probe": 1}}),
        ("/ws/tasks/", {"type": "push.message", "payload": {"probe": 1}}),
    ],
)
async def test_a_socket_open_past_group_expiry_hears_its_groups_or_is_closed(
    short_group_expiry, logged_in_headers, path, probe
):
    if path not in routed_paths():
        pytest.skip(f"{path} is not routed (demo apps left out)")
    socket, groups = await joined_groups(path, logged_in_headers)
    await asyncio.sleep(GROUP_EXPIRY * 2.5)
    for group in groups:
        await get_channel_layer().group_send(group, probe)
    output = await socket.receive_output(timeout=WAIT)
    if output["type"] == "websocket.send":
        await socket.disconnect()  # still a member: it heard the probe
    else:
        assert output == {"type": "websocket.close", "code": EXPIRED}
        # The page reconnects, joins again, and hears its groups.
        socket, groups = await joined_groups(path, logged_in_headers)
        for group in groups:
            await get_channel_layer().group_send(group, probe)
        assert (await socket.receive_output(timeout=WAIT))["type"] == "websocket.send"
        await socket.disconnect()
