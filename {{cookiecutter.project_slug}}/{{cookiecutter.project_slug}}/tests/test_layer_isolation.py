"""Projects sharing one Redis stay apart: every key the channel layer writes starts with CHANNEL_LAYER_PREFIX."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from {{ cookiecutter.project_slug }}.groups import group_name
from {{ cookiecutter.project_slug }}.layers.redis import SingleReaderRedisChannelLayer
from {{ cookiecutter.project_slug }}.settings import channel_layers_for

PROJECT_DIR = Path(__file__).resolve().parents[2]


def prefix_for(**env):
    """CHANNEL_LAYER_PREFIX as a fresh process with this environment computes it."""
    base = {name: value for name, value in os.environ.items() if name != "CHANNEL_LAYER_PREFIX"}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.CHANNEL_LAYER_PREFIX)"],
        cwd=PROJECT_DIR,
        env={**base, "DJANGO_SETTINGS_MODULE": "{{ cookiecutter.project_slug }}.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_each_secret_key_gets_its_own_prefix_and_the_environment_can_choose_one():
    first, second = prefix_for(DJANGO_SECRET_KEY="one" * 20), prefix_for(DJANGO_SECRET_KEY="two" * 20)
    assert first != second
    assert first.startswith("{{ cookiecutter.project_slug }}.")
    assert prefix_for(DJANGO_SECRET_KEY="one" * 20) == first  # stable: every process of a deployment agrees
    assert prefix_for(DJANGO_SECRET_KEY="one" * 20, CHANNEL_LAYER_PREFIX="shop-staging") == "shop-staging"


@pytest.mark.redis
async def test_two_projects_on_one_redis_reach_only_their_own_sockets(redis_url):
    # A database of their own on the session's Redis, so that the keys read below are theirs alone.
    shared_url = redis_url.rsplit("/", 1)[0] + "/14"
    config = lambda prefix: channel_layers_for([shared_url], prefix=prefix)["default"]["CONFIG"]  # noqa: E731
    project_a = SingleReaderRedisChannelLayer(**config("project-a"))
    project_b = SingleReaderRedisChannelLayer(**config("project-b"))
    room, user = group_name("chat", "room", "lobby"), group_name("notifications", "user", 1)
    try:
        sockets = {}
        for name, layer in (("a", project_a), ("b", project_b)):
            sockets[name] = await layer.new_channel()
            for group in (room, user):
                await layer.group_add(group, sockets[name])

        for group in (room, user):
            await project_a.group_send(group, {"type": "push.message", "payload": group})
        await project_a.send("tasks", {"type": "task.start", "steps": 1})  # a worker channel

        assert [(await project_a.receive(sockets["a"]))["payload"] for _ in range(2)] == [room, user]
        assert (await project_a.receive("tasks"))["type"] == "task.start"
        for channel in (sockets["b"], "tasks"):
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(project_b.receive(channel), timeout=0.5)

        keys = redis.Redis.from_url(shared_url).keys("*")
        assert keys, "the layers wrote nothing to Redis"
        assert all(key.startswith((b"project-a", b"project-b")) for key in keys), keys
    finally:
        await project_a.flush()
        await project_b.flush()
