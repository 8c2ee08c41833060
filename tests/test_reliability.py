"""Churn against a real uvicorn: sockets that join, talk in and leave chat rooms for a while.

Bounded: a few seconds, 20 clients at a time, loopback only.
"""

import asyncio
import json
import random
import time

import pytest
import redis
import websockets

from .conftest import bake_and_migrate, baked_env
from .processes import start_redis, start_uvicorn, stop

CLIENTS = 20
ROUND_SECONDS = 4


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session, project_slug="churning")


async def churn_client(address, deadline, rng):
    """Until the deadline: open a socket in a random room, say something, hear it, close. Returns sessions."""
    sessions = 0
    while time.monotonic() < deadline:
        room = f"churn-{rng.randrange(10)}"
        async with websockets.connect(f"ws://{address}/ws/chat/{room}/", origin="http://localhost") as ws:
            await ws.send(json.dumps({"message": "hi"}))
            while json.loads(await asyncio.wait_for(ws.recv(), 5)).get("message") != "hi":
                pass
        sessions += 1
    return sessions


def churn(address, seconds):
    async def all_clients():
        deadline = time.monotonic() + seconds
        rng = random.Random(42)
        return sum(await asyncio.gather(*(churn_client(address, deadline, rng) for _ in range(CLIENTS))))

    return asyncio.run(all_clients())


@pytest.mark.parametrize("layer", ["memory", "redis"])
def test_churn_completes_every_session_and_leaves_no_group_member_behind(project, layer, tmp_path):
    redis_server, redis_url = start_redis(tmp_path) if layer == "redis" else (None, "")
    server, address = start_uvicorn(project, baked_env(REDIS_URL=redis_url))
    try:
        # Every client session (open, join, speak, hear itself, leave) completes, or churn() raises.
        sessions = churn(address, ROUND_SECONDS)
        assert sessions > CLIENTS * 5, sessions
        if redis_server:
            # A socket that left while a room message was on its way to it used to stay a member for a day.
            assert groups_left(redis_url) == []
        assert server.poll() is None
    finally:
        output = stop(server)
        if redis_server:
            stop(redis_server)
    assert "Traceback" not in output, output[-3000:]


def groups_left(redis_url, settle_seconds=5):
    """The group keys still in Redis once the server has had a moment for the last group_discards."""
    deadline = time.monotonic() + settle_seconds
    while (left := redis.Redis.from_url(redis_url).keys("asgi:group:*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
