import socket
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from channels.testing import ApplicationCommunicator
from django.core import checks

from {{ cookiecutter.project_slug }} import health
from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.checks import (
    TAG,
    RedisRefused,
    memory_layer_problems,
    redis_location,
    redis_problems,
)
from {{ cookiecutter.project_slug }}.environment import redis_locations
from {{ cookiecutter.project_slug }}.layers.redis import SingleReaderRedisChannelLayer
from {{ cookiecutter.project_slug }}.settings import channel_layers_for
from {{ cookiecutter.project_slug }}.testing import processes
from {{ cookiecutter.project_slug }}.tests.commands import manage

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sentinel(redis_url, tmp_path):
    """(host, port) of a real sentinel that monitors the session's private Redis as "mymaster"."""
    process, port = processes.start_redis_sentinel(tmp_path, urlsplit(redis_url).port)
    yield (processes.HOST, port)
    processes.stop(process)


class HungServer:
    """A loopback server that accepts connections and never answers, as a SIGSTOPped sentinel does (the kernel
    still completes the handshake). `address`: (host, port); `accepted`: how many connections it got."""

    def __init__(self):
        self.listener = socket.create_server((processes.HOST, 0))
        self.listener.settimeout(0.1)
        self.address = (processes.HOST, self.listener.getsockname()[1])
        self.accepted = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while not self.stopping.is_set():
            try:
                self.accepted.append(self.listener.accept()[0])
            except TimeoutError:
                pass

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        for connection in [self.listener, *self.accepted]:
            connection.close()


@pytest.fixture
def hung_sentinel():
    server = HungServer()
    yield server
    server.close()


@pytest.mark.redis
async def test_a_hung_sentinel_listed_first_is_skipped_within_the_checks_budget(
    settings, hung_sentinel, sentinel, redis_url
):
    settings.CHANNEL_LAYERS = channel_layers_for(redis_locations([], [hung_sentinel.address, sentinel], ["mymaster"]))
    assert await sync_to_async(redis_problems)() == []
    # New connections of one pool ask the sentinel that answered first: the hung one is asked once, not each time.
    asked = len(hung_sentinel.accepted)  # by the check's own layer
    layer = SingleReaderRedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    try:
        pool = layer.connection(0).connection_pool
        addresses = [await pool.get_master_address() for _ in range(3)]
    finally:
        await layer.close_pools()
    assert addresses == [(processes.HOST, urlsplit(redis_url).port)] * 3
    assert len(hung_sentinel.accepted) == asked + 1


@pytest.mark.redis
def test_a_setting_redis_refuses_is_an_error_whose_hint_names_the_variable(settings, redis_url, tmp_path):
    # A wrong password, a database Redis lacks, an address that is no sentinel: waiting for Redis would not help.
    (tmp_path / "master").mkdir()
    master, master_url = processes.start_redis_server(tmp_path / "master", password="master-pw")
    try:
        master_port = urlsplit(master_url).port
        sentinel, port = processes.start_redis_sentinel(
            tmp_path, master_port, password="sentinel-pw", master_password="master-pw"
        )
        try:
            sentinels = [(processes.HOST, port)]
            right = {"password": "master-pw", "sentinel_password": "sentinel-pw"}
            cases = [
                (sentinels, {**right, "password": "wrong-pw"}, "REDIS_SENTINEL_MASTER_PASSWORD"),
                (sentinels, {**right, "sentinel_password": "wrong-pw"}, "REDIS_SENTINEL_PASSWORD"),
                (sentinels, {"password": "master-pw"}, "REDIS_SENTINEL_PASSWORD"),  # the sentinel wants one
                (sentinels, {**right, "db": 99}, "REDIS_SENTINEL_DB"),
                ([(processes.HOST, urlsplit(redis_url).port)], {}, "is not a sentinel"),  # a plain redis-server
            ]
            for addresses, options, named in cases:
                settings.CHANNEL_LAYERS = channel_layers_for(redis_locations([], addresses, ["mymaster"], **options))
                [error] = redis_problems()
                assert isinstance(error, RedisRefused) and named in error.hint, (options, error)
                assert "unreachable" not in error.msg + error.hint and "wrong-pw" not in error.msg + error.hint
            settings.CHANNEL_LAYERS = channel_layers_for(redis_locations([], sentinels, ["mymaster"], **right))
            assert redis_problems() == []
        finally:
            processes.stop(sentinel)
        settings.CHANNEL_LAYERS = channel_layers_for([master_url.replace("master-pw", "wrong-pw")])
        [error] = redis_problems()
        assert error.hint == "Wrong password for Redis: correct the password in REDIS_URL.", error
        settings.CHANNEL_LAYERS = channel_layers_for([master_url.replace("/0", "/99")])
        [error] = redis_problems()
        assert "the database number in REDIS_URL" in error.hint, error
    finally:
        processes.stop(master)


def test_unreachable_redis_is_an_error_naming_the_host(settings, closed_port):
    settings.CHANNEL_LAYERS = channel_layers_for([f"redis://:secret@127.0.0.1:{closed_port}/0"])
    [error] = redis_problems()
    assert error.id == "channel_layers.E001"
    assert f"127.0.0.1:{closed_port}" in error.msg
    assert "secret" not in error.msg


@pytest.mark.redis
def test_each_unreachable_shard_is_named_and_reachable_ones_pass(settings, closed_port, redis_url):
    settings.CHANNEL_LAYERS = channel_layers_for([redis_url, f"redis://127.0.0.1:{closed_port}/0"])
    [error] = redis_problems()
    assert f"127.0.0.1:{closed_port}" in error.msg
    settings.CHANNEL_LAYERS = channel_layers_for([redis_url, redis_url.replace("/0", "/1")])
    assert redis_problems() == []


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("redis://127.0.0.1:6380/0", "127.0.0.1:6380"),
        ("rediss://user:pw@cache.example.org/2", "cache.example.org:6379"),
        ("unix:///run/redis/redis.sock", "/run/redis/redis.sock"),
    ],
)
def test_redis_location_hides_credentials(url, location):
    assert redis_location(url) == location


def test_manage_py_check_deploy_names_the_unreachable_host(closed_port):
    result = manage("check", "--deploy", REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    assert result.returncode == 1
    assert f"channel_layers.E001) The channel layer cannot reach Redis at 127.0.0.1:{closed_port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_plain_manage_py_check_does_not_connect_to_redis(closed_port):
    # Reaching Redis is I/O: like Django's database checks it runs only when asked (--deploy).
    result = manage("check", REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    assert result.returncode == 0, result.stderr
    assert "channel_layers.E001" not in result.stdout + result.stderr


def test_commands_that_do_not_use_the_layer_work_without_redis(closed_port):
    result = manage("makemigrations", "--check", "--dry-run", REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    assert result.returncode == 0, result.stderr


async def test_server_starts_without_redis_and_reports_it(settings, closed_port, caplog):
    # A Redis that is away degrades the server (pages served, not ready), never stops it: health.py.
    settings.CHANNEL_LAYERS = channel_layers_for([f"redis://127.0.0.1:{closed_port}/0"])
    communicator = ApplicationCommunicator(application, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await communicator.send_input({"type": "lifespan.startup"})
    assert (await communicator.receive_output(timeout=10))["type"] == "lifespan.startup.complete"
    assert not health.is_ready()
    assert f"Redis at 127.0.0.1:{closed_port}" in health.unready_reasons()[health.CHANNEL_LAYER]
    assert f"Not ready: (channel_layers.E001) The channel layer cannot reach Redis at 127.0.0.1:{closed_port}" in (
        caplog.text
    )
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert (await communicator.receive_output(timeout=10))["type"] == "lifespan.shutdown.complete"


def test_in_memory_layer_with_several_server_processes_warns(settings, monkeypatch):
    settings.CHANNEL_LAYERS = channel_layers_for([])
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    [warning] = memory_layer_problems()
    assert warning.id == "channel_layers.W001" and "never cross processes" in warning.msg
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    assert memory_layer_problems() == []


def test_checks_probe_redis_only_when_deployment_checks_are_asked_for(settings, closed_port, monkeypatch):
    settings.CHANNEL_LAYERS = channel_layers_for([f"redis://127.0.0.1:{closed_port}/0"])
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    # What the command line says makes no difference.
    for argv in [["manage.py", "check"], ["manage.py", "runworker", "tasks"], ["uvicorn"]]:
        monkeypatch.setattr(sys, "argv", argv)
        assert checks.run_checks(tags=[TAG]) == []
        assert [e.id for e in checks.run_checks(tags=[TAG], include_deployment_checks=True)] == ["channel_layers.E001"]


@pytest.mark.redis
def test_redis_layer_with_several_processes_is_fine(settings, monkeypatch, redis_url):
    settings.CHANNEL_LAYERS = channel_layers_for([redis_url])
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert checks.run_checks(tags=[TAG], include_deployment_checks=True) == []


@pytest.mark.parametrize(
    ("backend", "says"),
    [
        # Its sockets failed on their first presence update, and the server's start with an AttributeError.
        ("channels_redis.pubsub.RedisPubSubChannelLayer", "neither in memory nor channels-redis's RedisChannelLayer"),
        ("channels_redis.core.NoSuchLayer", "cannot be imported"),
        # Not a class at all (here a function): issubclass() raised a TypeError traceback for every command.
        ("channels.layers.get_channel_layer", "neither in memory nor channels-redis's RedisChannelLayer"),
    ],
)
async def test_a_layer_class_the_project_cannot_use_stops_every_command_and_the_servers_start(
    settings, closed_port, backend, says
):
    settings.CHANNEL_LAYERS = channel_layers_for([f"redis://127.0.0.1:{closed_port}/0"])
    settings.CHANNEL_LAYERS["default"]["BACKEND"] = backend
    [error] = await sync_to_async(checks.run_checks)(tags=[TAG], include_deployment_checks=True)
    assert error.id == "channel_layers.E002" and says in error.msg and backend in error.msg
    communicator = ApplicationCommunicator(application, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await communicator.send_input({"type": "lifespan.startup"})
    failed = await communicator.receive_output(timeout=10)
    assert failed["type"] == "lifespan.startup.failed" and "channel_layers.E002" in failed["message"]
