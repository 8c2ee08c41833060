"""Fixtures shared by every app's tests.

The suite runs on the in-memory channel layer. `pytest --redis` runs it again on channels-redis, against a
private redis-server started on a free loopback port for the session (never the one in REDIS_URL); tests
marked `redis` need that: without --redis they are skipped and say why.
"""

import shutil
import socket
import subprocess
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.settings import channel_layers_for

ALLOWED_ORIGIN = (b"origin", b"http://localhost")


def pytest_addoption(parser):
    parser.addoption("--redis", action="store_true", help="run on channels-redis with a private redis-server")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--redis"):
        return
    skip = pytest.mark.skip(reason="needs a real Redis: run pytest --redis (it starts a private redis-server)")
    for item in items:
        if "redis" in item.keywords:
            item.add_marker(skip)


def start_redis_server(directory):
    """A redis-server on a free loopback port with no persistence; returns (process, url) once it answers."""
    server = shutil.which("redis-server")
    if server is None:
        raise pytest.UsageError("--redis needs redis-server on the PATH (Debian: apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url(request, tmp_path_factory):
    """URL of the session's private redis-server (only with --redis)."""
    if not request.config.getoption("--redis"):
        pytest.skip("needs a real Redis: run pytest --redis (it starts a private redis-server)")
    process, url = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def channel_layers(request):
    """Every test runs on the in-memory layer, or with --redis on the private redis-server."""
    redis_urls = [request.getfixturevalue("redis_url")] if request.config.getoption("--redis") else []
    layers = channel_layers_for(redis_urls)
    # Channels drops its cached layers when this setting changes, so consumers pick the new one up.
    with override_settings(CHANNEL_LAYERS=layers):
        yield layers


@pytest.fixture
async def connect():
    """Open sockets through the whole ASGI stack (origin check, auth, routing); all closed at teardown.

    `await connect("/ws/echo/")` returns a connected WebsocketCommunicator; `headers=` replaces the
    allowed Origin header.
    """
    opened = []

    async def open_socket(path, headers=(ALLOWED_ORIGIN,)):
        communicator = WebsocketCommunicator(application, path, headers=list(headers))
        connected, _ = await communicator.connect()
        assert connected, f"{path} refused the connection"
        opened.append(communicator)
        return communicator

    yield open_socket
    for communicator in opened:
        await communicator.disconnect()


@pytest.fixture
def refused():
    """`await refused(path, headers)` asserts the whole stack refuses the socket (before accepting it)."""

    async def refuse(path, headers=(ALLOWED_ORIGIN,)):
        communicator = WebsocketCommunicator(application, path, headers=list(headers))
        connected, _ = await communicator.connect()
        assert not connected, f"{path} accepted a socket it should refuse"

    return refuse
