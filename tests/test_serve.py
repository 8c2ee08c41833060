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

from .conftest import baked_env, free_port, run_in


@pytest.fixture(scope="module")
def server(cookies_session):
    project = cookies_session.bake().project_path
    run_in(project, "python", "manage.py", "migrate", "--verbosity", "0")
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
