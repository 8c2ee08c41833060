"""Fixtures shared by every app's tests: sockets through the ASGI stack, users, a real server, a real browser.

The suite runs on the in-memory channel layer. `pytest --redis` runs it again on channels-redis, against a
private redis-server started on a free loopback port for the session (never the one in REDIS_URL); tests
marked `redis` need that: without --redis they are skipped and say why.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.settings import channel_layers_for

ALLOWED_ORIGIN = (b"origin", b"http://localhost")
PROJECT_DIR = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser downloads are not used
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["{{ cookiecutter.project_slug }}.tests.hashers.FastPBKDF2PasswordHasher"]


def pytest_addoption(parser):
    parser.addoption("--redis", action="store_true", help="run on channels-redis with a private redis-server")


def pytest_collection_modifyitems(config, items):
    """`redis` tests run only with --redis; `memory_layer` tests (what a single process does) only without."""
    if config.getoption("--redis"):
        marker, skip = "memory_layer", pytest.mark.skip(reason="tests the in-memory layer: run pytest without --redis")
    else:
        reason = "needs a real Redis: run pytest --redis (it starts a private redis-server)"
        marker, skip = "redis", pytest.mark.skip(reason=reason)
    for item in items:
        if marker in item.keywords:
            item.add_marker(skip)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis_server(directory):
    """A redis-server on a free loopback port with no persistence; returns (process, url) once it answers."""
    server = shutil.which("redis-server")
    if server is None:
        raise pytest.UsageError("--redis needs redis-server on the PATH (Debian: apt-get install redis-server)")
    port = free_port()
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


@pytest.fixture
def session_headers(client):
    """`await session_headers(user)` returns socket headers (allowed Origin, session cookie) logged in as user."""

    async def headers_for(user):
        await sync_to_async(client.force_login)(user)
        return [ALLOWED_ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]

    return headers_for


@pytest.fixture
def make_user(django_user_model):
    """`await make_user("alice")` creates a user whose password is "pw-<name>-123"."""

    async def create(username, **extra):
        return await sync_to_async(django_user_model.objects.create_user)(
            username, password=f"pw-{username}-123", **extra
        )

    return create


@pytest.fixture(scope="session")
def process_env(request, django_db_setup):
    """The environment for processes a test starts (a server, runworker, manage.py): the test database and
    this session's channel layer (the private Redis with --redis, else in-memory; never .env's REDIS_URL)."""
    from django.db import connection

    redis_url = request.getfixturevalue("redis_url") if request.config.getoption("--redis") else ""
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, "DJANGO_SQLITE_PATH": str(connection.settings_dict["NAME"]), "REDIS_URL": redis_url}


@dataclass
class UvicornServer:
    url: str  # http://127.0.0.1:PORT
    log: Path  # everything the server printed
    pid: int


# The socket limits of the project's own server commands (README "Run", .run/, .vscode/launch.json).
SERVER_LIMITS = ["--ws-max-size", "1048576", "--ws-per-message-deflate", "false"]


def start_uvicorn(port, process_env, log_path):
    """Start uvicorn serving this project on 127.0.0.1:port; return the process once the port answers."""
    env = {
        **process_env,
        "DJANGO_DEBUG": "true",  # uvicorn serves no static files: Django does, in DEBUG
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    command = [sys.executable, "-m", "uvicorn", "{{ cookiecutter.project_slug }}.asgi:application"]
    with open(log_path, "a") as log:
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), *SERVER_LIMITS],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"uvicorn did not start:\n{log_path.read_text()}")
            time.sleep(0.05)


def stop_uvicorn(server, log_path):
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        pytest.fail(f"uvicorn did not stop within 10 s of SIGTERM:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def uvicorn_server(process_env, tmp_path_factory):
    """A real uvicorn process serving this project on a free loopback port, on the test database.

    It sees what a test writes once committed: use it from tests marked django_db(transaction=True).
    """
    port, log_path = free_port(), tmp_path_factory.mktemp("uvicorn") / "server.log"
    server = start_uvicorn(port, process_env, log_path)
    yield UvicornServer(f"http://127.0.0.1:{port}", log_path, server.pid)
    stop_uvicorn(server, log_path)


@pytest.fixture(scope="module")
def browser():
    """Headless chromium driven by Playwright, one per test module (tests marked `browser`)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium), so browser tests cannot run")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, so Django would take these
    # synchronous tests' ORM calls (creating users, flushing the database) for async code and refuse them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--no-first-run"]
            )
            yield launched
            launched.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def new_page(browser, uvicorn_server):
    """`new_page()` opens a page on the live server in a fresh browser context: its own cookies, like
    another person's browser. Relative URLs (`page.goto("/chat/")`) go to the server."""
    contexts = []

    def open_page():
        context = browser.new_context(base_url=uvicorn_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


class CrashableServer:
    """A uvicorn of one test's own, and a browser context on it, for tests that crash it mid-stream."""

    def __init__(self, browser, process_env, log_path):
        self.port, self.process_env, self.log_path = free_port(), process_env, log_path
        self.process = start_uvicorn(self.port, process_env, log_path)
        self.context = browser.new_context(base_url=f"http://127.0.0.1:{self.port}")
        self.context.set_default_timeout(10_000)

    def crash(self):
        """SIGKILL, like a crash or an OOM kill: no goodbye to any socket, nothing flushed."""
        self.process.kill()
        self.process.wait()

    def restart(self):
        self.process = start_uvicorn(self.port, self.process_env, self.log_path)

    def crash_and_restart(self, page):
        """Crash the server under an open demo page; return once the page has reconnected by itself."""
        from playwright.sync_api import expect

        self.crash()
        expect(page.locator("#status")).to_contain_text("disconnected")
        self.restart()
        # The page retries with backoff (0.5 s, 1 s, 2 s... with jitter) and gets back in on its own.
        expect(page.locator("#status")).to_have_text("connected", timeout=20_000)


@pytest.fixture
def crashable_server(browser, process_env, tmp_path):
    server = CrashableServer(browser, process_env, tmp_path / "server.log")
    yield server
    server.context.close()
    stop_uvicorn(server.process, server.log_path)


@pytest.fixture
def log_in():
    """`log_in(page, username, password)` logs a browser page in through the login form."""

    def submit_login_form(page, username, password):
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url("/")

    return submit_login_form
