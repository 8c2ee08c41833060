"""How a baked project behaves when Redis is missing or goes away, under a real uvicorn."""

import asyncio
import json
import urllib.request

import pytest
import websockets

from .support.bakes import bake_and_migrate, baked_env
from .support.processes import free_port, start_redis, start_uvicorn, stop

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session, channel_layer="redis")


# A server started while Redis is away: tests/test_dependencies_down.py.


async def open_chat(address, room="lobby"):
    return await websockets.connect(f"ws://{address}/ws/chat/{room}/", origin=f"http://{address}")


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
