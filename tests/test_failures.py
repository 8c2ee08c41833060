"""How a baked project behaves when Redis is missing or goes away, under a real uvicorn."""

import asyncio
import json
import urllib.request

import pytest
import websockets

from .conftest import bake_and_migrate, baked_env, free_port
from .processes import spawn, start_redis, start_uvicorn, stop

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session, channel_layer="redis")


def test_server_refuses_to_start_and_names_the_unreachable_redis(project):
    port = free_port()
    server = spawn(
        project,
        "python",
        "-m",
        "uvicorn",
        "channels_project.asgi:application",
        "--port",
        str(free_port()),
        env=baked_env(REDIS_URL=f"redis://127.0.0.1:{port}/0"),
    )
    server.wait(timeout=30)
    output = stop(server)
    assert server.returncode != 0
    assert f"(channel_layers.E001) The channel layer cannot reach Redis at 127.0.0.1:{port}" in output
    assert "Traceback" not in output


async def open_chat(address, room="lobby"):
    return await websockets.connect(f"ws://{address}/ws/chat/{room}/", origin="http://localhost")


async def say_and_hear(sender, listener, text):
    await sender.send(json.dumps({"message": text}))
    return json.loads(await asyncio.wait_for(listener.recv(), 5))["message"]


def test_redis_restart_keeps_http_up_and_chat_comes_back(project, tmp_path):
    redis_port = free_port()
    redis, url = start_redis(tmp_path, redis_port)
    server, address = start_uvicorn(project, baked_env(REDIS_URL=url))
    try:

        async def scenario():
            alice, bob = await open_chat(address), await open_chat(address)
            assert await say_and_hear(alice, bob, "before") == "before"

            stop(redis)
            # The sockets are closed (so clients know to reconnect) rather than left silently deaf.
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(bob.recv(), 10)
            with urllib.request.urlopen(f"http://{address}/chat/lobby/", timeout=5) as page:
                assert page.status == 200
            assert server.poll() is None

            restarted, _ = start_redis(tmp_path, redis_port)
            try:
                # Pooled connections to the old Redis are retried on fresh ones: the first handshake succeeds.
                carol, dave = await open_chat(address), await open_chat(address)
                assert await say_and_hear(carol, dave, "after") == "after"
                await carol.close()
                await dave.close()
            finally:
                stop(restarted)

        asyncio.run(scenario())
        assert server.poll() is None, "the server exited when Redis went away"
    finally:
        output = stop(server)
        stop(redis)
    assert "Application startup complete" in output, output
