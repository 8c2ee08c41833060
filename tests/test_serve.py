"""A baked project under a real uvicorn process, reached by a real WebSocket client over loopback."""

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets

from .conftest import bake_and_migrate, baked_env, free_port


@pytest.fixture(scope="module")
def server(cookies_session):
    project = bake_and_migrate(cookies_session)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "channels_project.asgi:application", "--port", str(port)],
        cwd=project,
        env=baked_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"uvicorn did not start:\n{process.stdout.read()}")
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def round_trip(address, path, frame, origin="http://localhost"):
    async def talk():
        async with websockets.connect(f"ws://{address}{path}", origin=origin, open_timeout=5) as ws:
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
        async with websockets.connect(f"ws://{server}/ws/nope/", origin="http://localhost") as ws:
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
    project = cookies_session.bake(extra_context={"channel_layer": "redis"}).project_path
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "channels_project.asgi:application", "--port", str(port)],
        cwd=project,
        env=baked_env(REDIS_URL=redis_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.05)

        async def idle_then_talk():
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/chat/idle/", origin="http://localhost") as ws:
                await asyncio.sleep(7)
                await ws.send('{"message": "still there?"}')
                return json.loads(await asyncio.wait_for(ws.recv(), 5))

        assert asyncio.run(idle_then_talk())["message"] == "still there?"
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "TimeoutError" not in output, output
