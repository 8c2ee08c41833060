"""The example client script against a real uvicorn server, as a user would run it."""

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "pw-alice-123"


def run_client(server_url, password, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "notifications.client", "--url", server_url, "--username", "alice", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, "WS_PASSWORD": password},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def browser_session(server_url, username, password):
    """Log in over HTTP like a browser (cookies, CSRF token); returns a function that posts a form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def post(path, data):
        page = opener.open(f"{server_url}/accounts/login/", timeout=10).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": csrf}).encode()
        return opener.open(urllib.request.Request(f"{server_url}{path}", data=body), timeout=10)

    post("/accounts/login/", {"username": username, "password": password})
    return post


def test_the_client_prints_what_the_server_pushes_and_no_token_is_logged(uvicorn_server, django_user_model):
    django_user_model.objects.create_user("alice", password=PASSWORD)
    client = run_client(uvicorn_server.url, PASSWORD, "--count", "1")
    try:
        first_line = client.stdout.readline()
        assert first_line.startswith("Connected"), client.stderr.read()
        post = browser_session(uvicorn_server.url, "alice", PASSWORD)
        assert post("/notifications/send/", {"message": "hello script"}).status == 200
        out, err = client.communicate(timeout=20)
    finally:
        client.kill()
    assert client.returncode == 0, err
    assert json.loads(out) == {"message": "hello script", "from": "alice"}
    log = uvicorn_server.log.read_text()
    assert '"WebSocket /ws/notifications/?token=[redacted]" [accepted]' in log
    assert not re.search(r"token=(?!\[redacted\])", log)


def test_a_wrong_password_gets_one_clear_line(uvicorn_server, django_user_model):
    django_user_model.objects.create_user("alice", password=PASSWORD)
    out, err = run_client(uvicorn_server.url, "wrong").communicate(timeout=20)
    assert err.strip() == "Could not get a token (401): Wrong username or password."
