"""A baked project under a real uvicorn process, reached by a real WebSocket client over loopback."""

import asyncio
import json
import urllib.request

import pytest
import websockets

from .support.bakes import bake_and_migrate, baked_env
from .support.processes import start_uvicorn, stop


@pytest.fixture(scope="module")
def server(cookies_session):
    process, address = start_uvicorn(bake_and_migrate(cookies_session), baked_env())
    yield address
    stop(process)


def round_trip(address, path, frame, origin=None):
    async def talk():
        async with websockets.connect(
            f"ws://{address}{path}", origin=origin or f"http://{address}", open_timeout=5
        ) as ws:
            await ws.send(frame)
            return await asyncio.wait_for(ws.recv(), 5)

    return asyncio.run(talk())


@pytest.mark.parametrize(
    ("path", "frame", "expected"),
    [
        ("/ws/echo/", "hello", "hello"),
        ("/ws/echo-json/", '{"a": [1, 2]}', {"a": [1, 2]}),
        ("/ws/echo-sync/", "threaded", "threaded"),
        ("/ws/chat/caf%C3%A9%20au%20lait/", '{"message": "hi"}', {"message": "hi", "user": "anonymous"}),
    ],
)
def test_every_demo_socket_answers(server, path, frame, expected):
    reply = round_trip(server, path, frame)
    assert (json.loads(reply) if isinstance(expected, dict) else reply) == expected


def test_foreign_origin_is_rejected_at_the_handshake(server):
    with pytest.raises(websockets.InvalidStatus) as refused:
        round_trip(server, "/ws/echo/", "x", origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_unknown_socket_path_is_closed_with_4404(server):
    async def talk():
        async with websockets.connect(f"ws://{server}/ws/nope/", origin=f"http://{server}") as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            return closed.value.rcvd.code

    assert asyncio.run(talk()) == 4404


@pytest.mark.parametrize(
    "path",
    ["/", "/echo/", "/chat/", "/chat/lobby/", "/static/chat/room.js", "/accounts/login/", "/notifications/", "/tasks/"],
)
def test_pages_and_static_files_are_served_in_debug(server, path):
    with urllib.request.urlopen(f"http://{server}{path}", timeout=5) as response:
        assert response.status == 200


@pytest.mark.redis
def test_an_idle_chat_socket_on_redis_survives_the_layers_blocking_wait(cookies_session, redis_url):
    """An idle socket must outlive channels-redis's 5 s blocking read (redis-py 8 times reads out at 5 s)."""
    # Migrated: a chat message is stored (history.py) before it is sent.
    project = bake_and_migrate(cookies_session, channel_layer="redis")
    process, address = start_uvicorn(project, baked_env(REDIS_URL=redis_url))
    try:

        async def idle_then_talk():
            async with websockets.connect(f"ws://{address}/ws/chat/idle/", origin=f"http://{address}") as ws:
                await asyncio.sleep(7)
                await ws.send('{"message": "still there?"}')
                return json.loads(await asyncio.wait_for(ws.recv(), 5))

        assert asyncio.run(idle_then_talk())["message"] == "still there?"
    finally:
        output = stop(process)
    assert "TimeoutError" not in output, output
