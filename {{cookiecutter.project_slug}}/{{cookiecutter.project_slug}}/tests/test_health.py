"""/healthz and /readyz (views.py, health.py): what they answer, how fast, and what they log.

A Redis that refuses or never answers is simulated on loopback ports, a database that does not answer with a
SQLite file in a folder that does not exist. The template's suite also stops and restarts a real redis-server
under gunicorn and calls the probes as the container health checks do.
"""

import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db.utils import ConnectionHandler

from {{ cookiecutter.project_slug }} import health
from {{ cookiecutter.project_slug }}.consumers import UNAUTHORIZED
from {{ cookiecutter.project_slug }}.settings import channel_layers_for

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections and never answers: a Redis that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_healthz_answers_without_touching_the_database_or_the_layer(client, settings, closed_port):
    # No django_db mark, so any query would fail the test; the layer points at a Redis that is not there.
    settings.CHANNEL_LAYERS = channel_layers_for([f"redis://127.0.0.1:{closed_port}/0"])
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_ready_when_the_database_and_the_layer_answer(client):
    # On the session's layer: in memory, or the private redis-server with --redis.
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}
    assert "no-store" in response["Cache-Control"]
    assert health.is_ready()


@pytest.mark.django_db
async def test_readyz_names_an_unreachable_redis_and_recovers(async_client, settings, closed_port, caplog):
    back = settings.CHANNEL_LAYERS  # the session's: in memory, or the private redis-server with --redis
    settings.CHANNEL_LAYERS = channel_layers_for([f"redis://127.0.0.1:{closed_port}/0"])
    caplog.set_level(logging.INFO)
    for _ in range(3):
        started = time.monotonic()
        response = await async_client.get("/readyz")
        assert time.monotonic() - started < health.PROBE_TIMEOUT_SECONDS + 1
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unready" and list(body["failed"]) == ["channel_layer"]
        assert f"127.0.0.1:{closed_port}" in body["failed"]["channel_layer"]
        assert "(ConnectionError)" in body["failed"]["channel_layer"]
        assert "\n" not in body["failed"]["channel_layer"]
    assert health.unready_reasons() == body["failed"]
    # Three failed probes, one line: the change. Django's request log adds no error per 503.
    assert [record.levelname for record in caplog.records if "Not ready" in record.getMessage()] == ["WARNING"]
    assert not [record for record in caplog.records if record.name == "django.request"]

    settings.CHANNEL_LAYERS = back
    response = await async_client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}
    assert health.is_ready()
    assert "Ready again: the channel layer answers." in caplog.text


def test_a_worker_says_what_a_lost_dependency_costs_a_worker(monkeypatch, caplog):
    """runworker sets process_kind: a worker serves no pages, so its line must not say it does."""
    monkeypatch.setattr(health, "process_kind", health.WORKER)
    health.report(health.CHANNEL_LAYER, "Error connecting to 127.0.0.1:6379. Connect call failed.")
    assert caplog.messages == [
        "Not ready: Error connecting to 127.0.0.1:6379. Connect call failed. The worker waits for it; a job it was"
        " running, if any, is lost."
    ]


@pytest.mark.django_db
async def test_readyz_gives_up_on_a_redis_that_never_answers(async_client, settings, silent_port, monkeypatch):
    monkeypatch.setattr(health, "PROBE_TIMEOUT_SECONDS", 0.5)
    settings.CHANNEL_LAYERS = channel_layers_for([f"redis://127.0.0.1:{silent_port}/0"])
    started = time.monotonic()
    response = await asyncio.wait_for(async_client.get("/readyz"), 10)  # a test that fails, never one that hangs
    took = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["failed"] == {"channel_layer": "no answer within 0.5 s"}
    assert 0.5 <= took < 1.5
    await get_channel_layer().close_pools()


@pytest.mark.django_db
async def test_readyz_names_a_database_that_does_not_answer(async_client, monkeypatch, tmp_path, caplog):
    missing = tmp_path / "no-such-folder" / "db.sqlite3"
    broken = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(missing)}})
    monkeypatch.setattr(health, "connections", broken)
    response = await async_client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unready",
        "failed": {"database": "unable to open database file (OperationalError)"},
    }
    assert "Not ready: unable to open database file (OperationalError). Pages and sockets that read" in caplog.text
    # /healthz does no I/O: still up.
    assert (await async_client.get("/healthz")).status_code == 200


def test_probes_are_neither_redirected_to_https_nor_refused_for_their_host(tmp_path):
    # Production settings (DEBUG off: every other page is redirected to https), in a process of their own.
    code = (
        "from django.test import Client; client = Client(HTTP_HOST='example.org'); "
        "print(*(client.get(path).status_code for path in ['/healthz', '/readyz', '/']))"
    )
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "DJANGO_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "REDIS_URL": "",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["200", "200", "301"], result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "logged"),
    [("/healthz", False), ("/readyz", False), ("/readyz?verbose=1", False), ("/", True), ("/healthz/x", True)],
)
def test_quiet_probes_drops_only_the_probes_access_lines(path, logged):
    # As uvicorn writes its access log (uvicorn.access), which gunicorn's uvicorn workers use.
    args = ("127.0.0.1:50000", "GET", path, "1.1", 200)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)
    assert health.QuietProbes().filter(record) is logged


async def test_a_database_that_never_answers_holds_one_thread_whatever_the_probes(monkeypatch):
    # Each probe that started a check of its own would leave one more thread stuck in the driver, until the
    # loop's thread pool is full and everything that needs it (DNS lookups, sync_to_async) waits too.
    monkeypatch.setattr(health, "PROBE_TIMEOUT_SECONDS", 0.2)
    answer, started = threading.Event(), []

    def hung_database():
        started.append(threading.get_ident())
        assert answer.wait(10), "the test never let the database answer"
        return None

    monkeypatch.setattr(health, "database_problem", hung_database)
    try:
        for _ in range(3):
            problems = await asyncio.wait_for(health.readiness_problems(), 10)
            assert problems["database"] == "no answer within 0.2 s"
        assert len(started) == 1
    finally:
        answer.set()
    assert "database" not in await asyncio.wait_for(health.readiness_problems(), 10)


async def test_a_socket_whose_redis_refuses_the_password_is_closed_saying_so(caplog):
    import redis

    async def consumer(scope, receive, send):
        raise redis.AuthenticationError("invalid username-password pair or user is disabled.")

    sent = []

    async def send(message):
        sent.append(message)

    await health.DependencyGuard(consumer)({"type": "websocket", "path": "/ws/echo/"}, None, send)
    assert sent[-1] == {"type": "websocket.close", "code": health.TRY_AGAIN_LATER}
    # A wrong password is a redis.ConnectionError too, but waiting for Redis will not fix it: the log names it.
    assert "closed with 1013: wrong password for Redis: correct the password in REDIS_URL." in caplog.text
    assert "unreachable" not in caplog.text
    assert "wrong password" in health.unready_reasons()[health.CHANNEL_LAYER]


class ClosesAnonymous(AsyncWebsocketConsumer):
    """A push consumer's answer to an anonymous socket (accept, then 4401), in a group it leaves at teardown."""

    groups = ["guarded"]

    async def connect(self):
        await self.accept()
        await self.close(code=UNAUTHORIZED)


async def test_a_socket_closed_before_redis_failed_is_logged_with_its_own_code(monkeypatch, caplog):
    """Redis failing in the teardown of a socket already closed with 4401: the guard sends nothing more, and its
    line says what the client got (4401) and that Redis failed afterwards, not "closed with 1013"."""
    import redis

    async def unreachable(group, channel):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(get_channel_layer(), "group_discard", unreachable)
    socket = WebsocketCommunicator(health.DependencyGuard(ClosesAnonymous.as_asgi()), "/ws/push/")
    connected, _ = await socket.connect()
    assert connected
    assert await socket.receive_output() == {"type": "websocket.close", "code": UNAUTHORIZED}
    with caplog.at_level(logging.WARNING, logger=health.__name__):
        await socket.disconnect(code=1000)
    assert await socket.receive_nothing()
    assert "WebSocket /ws/push/ was already closed with 4401; then Redis failed: Redis is unreachable." in caplog.text
    assert "1013" not in caplog.text


async def guarded(consumer, send):
    await health.DependencyGuard(consumer)({"type": "websocket", "path": "/ws/echo/"}, None, send)


async def test_a_socket_refused_before_redis_failed_is_logged_as_refused(caplog):
    import redis

    async def consumer(scope, receive, send):
        await send({"type": "websocket.close"})  # before accepting: the server answers 403
        raise redis.ConnectionError("Connection refused")

    sent = []

    async def send(message):
        sent.append(message)

    await guarded(consumer, send)
    assert sent == [{"type": "websocket.close"}]
    assert "WebSocket /ws/echo/ was already refused at its handshake; then Redis failed" in caplog.text
    assert "closed with" not in caplog.text


async def test_a_socket_whose_client_left_is_not_logged_as_closed_with_1013(caplog):
    import redis

    async def consumer(scope, receive, send):
        raise redis.ConnectionError("Connection refused")

    async def send(message):
        raise OSError("the client is gone")

    await guarded(consumer, send)
    assert "WebSocket /ws/echo/ failed: Redis is unreachable; its client had left already." in caplog.text
    assert "closed with" not in caplog.text
