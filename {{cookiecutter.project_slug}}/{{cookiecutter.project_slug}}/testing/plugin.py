"""The pytest plugin behind conftest.py: the channel layer of the session, real processes, a real browser.

The suite runs on the in-memory channel layer. `pytest --redis` runs it again on channels-redis, against a
private redis-server started on a free loopback port for the session (never the one in REDIS_URL); tests
marked `redis` need that: without --redis they are skipped and say why. Tests marked `memory_layer` (what a
single process does) are skipped with --redis.

The test database is SQLite (test_db.sqlite3 beside manage.py, one per xdist worker), whatever DATABASE_URL says.
`pytest --postgresql` makes it on a private PostgreSQL server instead, started from Debian's packages (initdb,
postgres) on a free loopback port for the session (never the one in DATABASE_URL). The two options combine.
"""

import asyncio
import os
import signal
import threading
import uuid
from urllib.parse import urlsplit

import dj_database_url
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import override_settings

from {{ cookiecutter.project_slug }} import health
from {{ cookiecutter.project_slug }}.settings import caches_for, channel_layers_for, sqlite_database

from . import processes
from .browser import CHROMIUM, CrashableServer, chromium, in_thread
from .live_server import LiveServer

pytest_plugins = ["{{ cookiecutter.project_slug }}.testing.screenshots"]

NEEDS_REDIS = "needs a real Redis: run pytest --redis (it starts a private redis-server)"


def pytest_configure(config):
    """A run stopped with SIGTERM (an IDE's stop button, CI cancelling a job, `kill`) ends as Ctrl+C does: the
    fixtures tear down, so the servers the session started (redis-server, PostgreSQL, uvicorn) stop with it
    instead of running on. A handler someone else installed is left alone."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, interrupt)


def interrupt(signum, frame):
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def pytest_addoption(parser):
    parser.addoption("--redis", action="store_true", help="run on channels-redis with a private redis-server")
    parser.addoption("--postgresql", action="store_true", help="run on a private PostgreSQL server (initdb, postgres)")


@pytest.hookimpl(trylast=True)  # after pytest-django's order (database tests first), which this one keeps
def pytest_collection_modifyitems(config, items):
    """`redis` tests run only with --redis; `memory_layer` tests (what a single process does) only without.
    `browser` tests run last, in their order: they share one chromium (the `browser` fixture), whose Playwright
    event loop runs in this thread until the session ends, where an async test could not run its own."""
    if config.getoption("--redis"):
        marker, skip = "memory_layer", pytest.mark.skip(reason="tests the in-memory layer: run pytest without --redis")
    else:
        marker, skip = "redis", pytest.mark.skip(reason=NEEDS_REDIS)
    for item in items:
        if marker in item.keywords:
            item.add_marker(skip)
    items.sort(key=lambda item: "browser" in item.keywords)  # a stable sort: each part keeps its order


@pytest.fixture(scope="session")
def redis_url(request, tmp_path_factory):
    """URL of the session's private redis-server (only with --redis)."""
    if not request.config.getoption("--redis"):
        pytest.skip(NEEDS_REDIS)
    try:
        process, url = processes.start_redis_server(tmp_path_factory.mktemp("redis"))
    except processes.MissingProgram as error:
        raise pytest.UsageError(f"--redis needs redis-server: {error}") from None
    yield url
    processes.stop(process)


@pytest.fixture(scope="session")
def postgresql_url(request, tmp_path_factory):
    """URL of the session's private PostgreSQL server, its `postgres` database (only with --postgresql). Each
    xdist worker starts one of its own."""
    if not request.config.getoption("--postgresql"):
        pytest.skip("needs PostgreSQL: run pytest --postgresql (it starts a private server)")
    directory = tmp_path_factory.mktemp("postgresql")
    try:
        process, url = processes.start_postgresql_server(directory, log=directory / "server.log")
    except processes.MissingProgram as error:
        raise pytest.UsageError(f"--postgresql needs PostgreSQL: {error}") from None
    except processes.StartFailed as error:
        log = directory / "server.log"
        raise pytest.UsageError(f"--postgresql: {error}:\n{log.read_text() if log.exists() else ''}") from None
    yield url
    processes.stop_postgresql_server(process)
    processes.remove_postgresql_data(directory)


def use_database(database):
    """Make `database` (a DATABASES entry) the default database, before any test has used it."""
    from django.conf import settings
    from django.db import connections

    # The connection handler and pytest-django share this very dict; the handler's defaults are filled in again.
    default = settings.DATABASES["default"]
    default.clear()
    default.update(connections.configure_settings({"default": database})["default"])
    connections["default"].close()
    del connections["default"]  # made again, with the new ENGINE, on next use


def unsynced(database):
    """A SQLite DATABASES entry whose connections never wait for the disk (PRAGMA synchronous=OFF): a test
    database need not outlive a power cut, and every transactional test's teardown commits a flush of every
    table and the rows post_migrate writes again, each commit an fsync otherwise. Only this process's
    connections: the servers a test starts keep the project's settings."""
    return {**database, "OPTIONS": {**database.get("OPTIONS", {}), "init_command": "PRAGMA synchronous=OFF"}}


@pytest.fixture(scope="session", autouse=True)
def session_database(request, tmp_path_factory):
    """The database of the session: the SQLite file of settings.py, or with --postgresql the private server,
    whatever DATABASE_URL says. Returns the server's URL ("" for SQLite).

    Processes a test starts with process_env get the test database. Those started with os.environ get an empty
    SQLite file of the session's own (DATABASE_URL empty, DJANGO_SQLITE_PATH in a temporary directory): never
    db.sqlite3, nor .env's database, nor a DJANGO_SQLITE_PATH of the shell's."""
    url = request.getfixturevalue("postgresql_url") if request.config.getoption("--postgresql") else ""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", "")
        patch.setenv("DJANGO_SQLITE_PATH", str(tmp_path_factory.mktemp("database") / "not-the-test-database.sqlite3"))
        use_database(dj_database_url.parse(url) if url else unsynced(sqlite_database()))
        yield url


@pytest.fixture(scope="session")
def django_db_modify_db_settings(session_database, django_db_modify_db_settings_parallel_suffix):
    """pytest-django's hook for the test database's settings: on the session's database (session_database), one
    test database per xdist worker (pytest-django's suffix, `_gw0`...)."""


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, session_database, django_db_blocker):
    """pytest-django's test databases; before it drops PostgreSQL's, the sessions still open on it are ended (a
    thread's connection, a process a test left) so that DROP DATABASE is not refused."""
    yield
    if session_database:
        end_other_sessions(django_db_blocker)


def end_other_sessions(django_db_blocker):
    """Ends every other session on the PostgreSQL test database, and this process's connection."""
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()


@pytest.fixture(scope="session", autouse=True)
def channel_layers(request):
    """Every test runs on the in-memory layer, or with --redis on the private redis-server."""
    redis_urls = [request.getfixturevalue("redis_url")] if request.config.getoption("--redis") else []
    layers = channel_layers_for(redis_urls)
    # Channels drops its cached layers when this setting changes, so consumers pick the new one up.
    with override_settings(CHANNEL_LAYERS=layers):
        yield layers


@pytest.fixture(autouse=True)
def cache_of_the_test(request):
    """Each test gets a cache of its own, on the session's private Redis with --redis, else in memory: login
    rate-limit counts and socket-token logouts never carry over into the next test."""
    redis_urls = [request.getfixturevalue("redis_url")] if request.config.getoption("--redis") else []
    with override_settings(CACHES=caches_for(redis_urls, prefix=f"test-{uuid.uuid4().hex}")):
        yield


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch):
    """Each test starts with this process ready and as a server (health), and ends with no database connection
    left open in the thread where sync_to_async runs database code. Channels closes that thread's connections
    before each message a consumer handles; a socket refused before its consumer starts (a 1013, a 4401) leaves
    one open, and the next test without database access would fail on it."""
    monkeypatch.setattr(health, "_unready", {})
    monkeypatch.setattr(health, "process_kind", health.SERVER)
    yield
    in_thread(asyncio.run, sync_to_async(connections.close_all)())  # this thread may be running a loop


@pytest.fixture(scope="session")
def process_env(request, django_db_setup, session_database, django_db_blocker, django_db_keepdb, django_db_createdb):
    """The environment for processes a test starts (a server, runworker, manage.py): the test database (SQLite's
    file, or with --postgresql its URL on the private server) and this session's channel layer (the private Redis
    with --redis, else in-memory); never .env's DATABASE_URL or REDIS_URL.

    pytest-django makes the test database only for a session with a test that uses the database; in any other
    (one test that starts a server, run alone) this fixture makes it, migrated, and drops it at the end."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    own = dj_database_url.parse(session_database) if session_database else sqlite_database()
    made = None
    if str(connection.settings_dict["NAME"]) == str(own["NAME"]):  # still the project's: no test database was made
        with django_db_blocker.unblock():
            made = setup_databases(
                verbosity=0,
                interactive=False,
                aliases={"default": False},
                serialized_aliases=(),
                # As pytest-django's: --reuse-db keeps an existing one, unless --create-db is given too.
                keepdb=django_db_keepdb and not django_db_createdb,
            )
    redis_url = request.getfixturevalue("redis_url") if request.config.getoption("--redis") else ""
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    test_database = str(connection.settings_dict["NAME"])
    if session_database:
        database_url = urlsplit(session_database)._replace(path=f"/{test_database}").geturl()
        yield {**env, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    else:
        yield {**env, "DATABASE_URL": "", "DJANGO_SQLITE_PATH": test_database, "REDIS_URL": redis_url}
    if made is not None and not django_db_keepdb:
        if session_database:
            end_other_sessions(django_db_blocker)
        with django_db_blocker.unblock():
            teardown_databases(made, verbosity=0)


@pytest.fixture(scope="session")
def uvicorn_server(process_env, tmp_path_factory):
    """A real uvicorn process serving this project on a free loopback port, on the test database
    (`.url`, `.log`, `.pid`). It sees what a test writes once committed: use it from tests marked
    django_db(transaction=True)."""
    server = LiveServer(process_env, tmp_path_factory.mktemp("uvicorn") / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless chromium driven by Playwright, one for the session (tests marked `browser`, which run last)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium), so browser tests cannot run")
    with chromium() as launched:
        yield launched


@pytest.fixture
def new_page(browser, request):
    """`new_page()` opens a page on the live server (uvicorn_server) in a fresh browser context: its own cookies,
    like another person's browser; `new_page(server)` on a LiveServer of the test's own. Relative URLs
    (`page.goto("/accounts/login/")`) go to the server."""
    contexts = []

    def open_page(server=None):
        server = server or request.getfixturevalue("uvicorn_server")  # started only for a test that uses it
        context = browser.new_context(base_url=server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def crashable_server(browser, process_env, tmp_path):
    """A server of this test's own with a browser context on it (`.context`): `.crash_and_restart(page)`."""
    server = CrashableServer(browser, process_env, tmp_path / "server.log")
    yield server
    server.close()


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
