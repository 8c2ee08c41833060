"""Secrets stay out of logs, out of other users' reach, and off error pages.

- Server logs: no socket token, however the client spells its parameter (middleware.RedactTokens), read from a
  real uvicorn's log after real requests. (The template's suite reads gunicorn's and nginx's logs too.)
- Files: `.env` and the SQLite database are their owner's only; `check --deploy` warns otherwise (privacy.py).
- Debug pages: the password of a URL setting (REDIS_URL), and a Sentinel master's, is masked wherever it appears.
"""

import asyncio
import json
import logging
import sqlite3
import sys
import urllib.parse
import urllib.request

import pytest
import websockets
from django.core import checks
from django.views.debug import ExceptionReporter

from {{ cookiecutter.project_slug }}.environment import redis_locations
from {{ cookiecutter.project_slug }}.middleware import RedactTokens
from {{ cookiecutter.project_slug }}.privacy import make_database_private
from {{ cookiecutter.project_slug }}.settings import caches_for, channel_layers_for

SIGNED = "eyJpZCI6MX0:1tAbCd:Zm9yZ2VkLXNpZ25hdHVyZS1vZi1mb3J0eS10aHJlZS1jaGFycw"  # shaped like a token


@pytest.mark.parametrize(
    "query",
    [
        "token=SECRET-1",
        "tok%65n=SECRET-1",
        "TOKEN=SECRET-1",
        "a=1&t%6Fken=SECRET-1&b=2",
        "tok%2565n=SECRET-1",  # encoded twice
        "access_token=SECRET-1",
        f"t={SIGNED}",  # a token under another name
        f"t={urllib.parse.quote(SIGNED)}",
    ],
)
def test_the_log_filter_hides_tokens_however_they_are_spelled(query):
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', None, None)
    record.args = ("127.0.0.1:5000", "GET", f"/ws/notifications/?{query}", "1.1", 200)
    RedactTokens().filter(record)
    message = record.getMessage()
    assert "SECRET" not in message and "Zm9yZ2Vk" not in message, message
    assert "[redacted]" in message


def test_uvicorns_asgi_trace_log_of_a_scope_hides_its_token():
    # `uvicorn --log-level trace` logs each scope, query string included.
    record = logging.LogRecord("uvicorn.asgi", 5, "", 0, "ASGI [%d] Started scope=%s", None, None)
    record.args = (1, {"type": "websocket", "path": "/ws/", "query_string": b"a=1&tok%65n=SECRET-1"})
    RedactTokens().filter(record)
    assert "SECRET" not in record.getMessage() and "tok%65n=[redacted]" in record.getMessage()


def test_the_log_filter_keeps_other_parameters():
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "%s", ("/page/?page=2&q=tokens",), None)
    RedactTokens().filter(record)
    assert record.getMessage() == "/page/?page=2&q=tokens"


@pytest.mark.django_db(transaction=True)
def test_a_real_servers_log_never_holds_a_token(uvicorn_server, django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    body = {"username": "alice", "password": "pw-alice-123", "path": "/ws/"}
    answer = urllib.request.urlopen(
        urllib.request.Request(f"{uvicorn_server.url}/api/ws-token/", data=urllib.parse.urlencode(body).encode()),
        timeout=10,
    )
    token = json.loads(answer.read())["token"]
    quoted = urllib.parse.quote(token)
    for query in (f"token={quoted}", f"tok%65n={quoted}", f"TOKEN={token}", f"x=1&t%6Fken={quoted}"):
        try:
            urllib.request.urlopen(f"{uvicorn_server.url}/?{query}", timeout=10).read()  # a plain GET
        except urllib.error.HTTPError:
            pass

    async def open_socket():
        # `tok%65n` is `token` once decoded: it logs the socket in, so it must be hidden too. (No app routes this
        # path: the socket is accepted, then closed with 4404.)
        url = uvicorn_server.url.replace("http", "ws", 1) + f"/ws/no-app/?tok%65n={quoted}"
        async with websockets.connect(url, origin=uvicorn_server.url, open_timeout=10) as socket:
            await socket.wait_closed()
            return socket.close_code

    assert asyncio.run(open_socket()) == 4404
    log = uvicorn_server.log.read_text()
    assert "/ws/no-app/?tok%65n=[redacted]" in log
    for secret in (token, quoted, token.split(":")[-1]):
        assert secret not in log


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")  # a SQLite file of its own, read by the check
def test_env_and_sqlite_files_others_can_read_are_a_deploy_warning(settings, tmp_path):
    env, database = tmp_path / ".env", tmp_path / "db.sqlite3"
    env.write_text("DJANGO_SECRET_KEY=x\n")
    sqlite3.connect(database).close()
    settings.ENV_FILE = env
    settings.DATABASES = {**settings.DATABASES, "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}}
    for mode, expected in ((0o644, {"secrets.W001", "secrets.W002"}), (0o640, {"secrets.W001", "secrets.W002"})):
        env.chmod(mode)
        database.chmod(mode)
        found = {message.id for message in checks.run_checks(include_deployment_checks=True)}
        assert expected <= found
    env.chmod(0o600)
    database.chmod(0o600)
    found = {message.id for message in checks.run_checks(include_deployment_checks=True)}
    assert not found & {"secrets.W001", "secrets.W002"}


def test_the_project_makes_a_new_sqlite_database_its_owners_only(tmp_path):
    database = tmp_path / "new.sqlite3"
    sqlite3.connect(database).execute("create table t (x)")
    database.chmod(0o644)

    class Connection:
        settings_dict = {"ENGINE": "django.db.backends.sqlite3", "NAME": database}

    make_database_private(sender=None, connection=Connection())
    assert database.stat().st_mode & 0o777 == 0o600


def test_a_debug_page_masks_the_password_of_every_url_setting(settings, rf):
    password = "hunter2-" + "secret"  # built here, so the page's source excerpts do not show it
    url = f"redis://:{password}@127.0.0.1:6379/0"
    settings.DEBUG = True
    settings.CHANNEL_LAYERS = channel_layers_for([url])
    settings.CACHES = caches_for([url])
    other = "s3cret-" + "pass@x"  # percent-encoded in its URL
    settings.SOME_SERVICE_URL = f"postgres://app:{urllib.parse.quote(other)}@db.example.org/app"

    def connect_to_redis(address):
        auth_args = (password,)  # what redis-py's connection holds in its frame
        raise ConnectionError(f"authentication failed ({len(auth_args)} argument)")

    try:
        connect_to_redis(url)
    except ConnectionError:
        html = ExceptionReporter(rf.get("/"), *sys.exc_info()).get_traceback_html()
    assert password not in html and other not in html
    assert "redis://********************@127.0.0.1:6379/0" in html


def test_a_debug_page_masks_the_passwords_of_a_sentinel_master(settings, rf):
    password, sentinel_password = "hunter2-" + "secret", "sentinel-" + "secret"  # built here, as above
    sentinels = [("127.0.0.1", 26379)]
    locations = redis_locations([], sentinels, ["mymaster"], password=password, sentinel_password=sentinel_password)
    settings.DEBUG = True
    settings.CHANNEL_LAYERS = channel_layers_for(locations)
    settings.CACHES = caches_for(locations)

    def connect_to_redis(master):
        auth_args = (password, sentinel_password)  # what redis-py's connections hold in their frames
        raise ConnectionError(f"authentication failed ({len(auth_args)} arguments)")

    try:
        connect_to_redis("mymaster")
    except ConnectionError:
        html = ExceptionReporter(rf.get("/"), *sys.exc_info()).get_traceback_html()
    assert password not in html and sentinel_password not in html
    assert "mymaster" in html
