"""Isolation and trust, proven on real processes: uvicorn, gunicorn behind Debian's nginx with the shipped
deploy/nginx.conf, redis-server.

- Sockets end with their login, across server processes on Redis: logout, password change and deactivation
  close a user's sockets with 4401 on every server; a socket token stops working at logout.
- The socket Origin check is Django's CSRF origin check: the dev server's own origin and the production origin
  behind nginx open sockets, another port or scheme does not, and the refusal is logged with its reason.
- No server or proxy log holds a socket token, however it is spelled; `.env` and the database are their owner's
  only; a debug page does not show REDIS_URL's password.
- Login rate limits are shared by every server process through the Redis cache.
"""

import asyncio
import http.cookiejar
import json
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
import redis
import websockets

from .support.bakes import bake_and_migrate, baked_env, run_in
from .support.processes import (
    free_port,
    render_nginx_site,
    start_gunicorn,
    start_nginx,
    start_redis,
    start_uvicorn,
    stop,
)

PRODUCTION = {"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "example.org,localhost,127.0.0.1"}
PASSWORD = "a long pw 42"
UNAUTHORIZED = 4401
CREATE_USERS = (
    "from django.contrib.auth import get_user_model; U = get_user_model(); "
    "[U.objects.filter(username=name).exists() or U.objects.create_user(name, password='a long pw 42') "
    "for name in ('alice', 'bob', 'carol', 'dave')]"
)


class Browser:
    """A browser's HTTP side on one server: cookies, CSRF tokens, the login form, the socket-token API."""

    def __init__(self, address):
        self.address = address
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def on(self, address):
        """The same browser (its cookies) talking to another server."""
        other = Browser(address)
        other.cookies, other.opener = self.cookies, self.opener
        return other

    def get(self, path):
        with self.opener.open(f"http://{self.address}{path}", timeout=20) as response:
            return response.read().decode()

    def post_form(self, path, data, page="/accounts/login/"):
        """POST a form as the page `page` would, with its CSRF token; returns (status, body)."""
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(page)).group(1)
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": csrf}).encode()
        try:
            with self.opener.open(urllib.request.Request(f"http://{self.address}{path}", data=body), timeout=20) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def log_in(self, username, password=PASSWORD):
        status, body = self.post_form("/accounts/login/", {"username": username, "password": password})
        assert status == 200 and "Log out" in body, body[:2000]
        return self

    def log_out(self):
        status, _ = self.post_form("/accounts/logout/", {}, page="/")
        assert status == 200

    def token(self, path, **credentials):
        """POST /api/ws-token/: (status, JSON answer, Retry-After)."""
        body = json.dumps({**credentials, "path": path}).encode()
        request = urllib.request.Request(
            f"http://{self.address}/api/ws-token/", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, json.loads(response.read()), None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), error.headers.get("Retry-After")

    @property
    def cookie_header(self):
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.cookies)


def socket(address, path, browser=None, origin=None):
    """Open a socket like a page of `origin` (default: the server's own) would, with the browser's cookies."""
    headers = {"Cookie": browser.cookie_header} if browser is not None else None
    return websockets.connect(
        f"ws://{address}{path}", origin=origin or f"http://{address}", additional_headers=headers, open_timeout=10
    )


async def close_code(ws, timeout=5):
    """The code the server closes `ws` with within `timeout` s (frames before it are skipped); None if open."""
    try:
        async with asyncio.timeout(timeout):
            async for _ in ws:
                pass
    except TimeoutError:
        return None
    except websockets.ConnectionClosed:
        pass
    return ws.close_code


def refused(address, path, origin, headers=None, host=None):
    """The HTTP status that refuses the socket's handshake (None if it opens); `host`: the Host header, when it
    is not `address`."""
    ip, port = address.rsplit(":", 1)

    async def attempt():
        try:
            async with websockets.connect(
                f"ws://{host or address}{path}",
                host=ip,
                port=int(port),
                origin=origin,
                additional_headers=headers,
                open_timeout=10,
            ):
                return None
        except websockets.InvalidStatus as error:
            return error.response.status_code

    return asyncio.run(attempt())


@pytest.fixture(scope="module")
def redis_project(cookies_session):
    project = bake_and_migrate(cookies_session, channel_layer="redis")
    return project


@pytest.fixture
def two_servers(redis_project, redis_url, tmp_path):
    """Two uvicorn processes of one bake on one Redis (its own key prefix, so counts start at zero)."""
    env = baked_env(REDIS_URL=redis_url, CHANNEL_LAYER_PREFIX=f"security-{tmp_path.name}")
    run_in(redis_project, "python", "manage.py", "shell", "-c", CREATE_USERS, env=env)
    servers = [start_uvicorn(redis_project, env) for _ in range(2)]
    yield env, [address for _, address in servers]
    for process, _ in servers:
        stop(process)


@pytest.mark.redis
def test_a_users_sockets_close_on_every_server_when_the_login_ends(redis_project, two_servers):
    env, (first, second) = two_servers
    paths = ["/ws/notifications/", "/ws/tasks/", "/ws/echo-sync/", "/ws/chat/lobby/", "/ws/echo/"]

    async def sockets_of(browser):
        return [await socket(address, path, browser) for address in (first, second) for path in paths]

    async def scenario():
        # Logout on the second server closes the sockets that login opened on both; bob's stay open.
        alice = Browser(first).log_in("alice")
        bob = Browser(first).log_in("bob")
        status, answer, _ = Browser(first).token("/ws/notifications/", username="alice", password=PASSWORD)
        assert status == 200
        opened, bobs = await sockets_of(alice), await socket(second, "/ws/notifications/", bob)
        alice.on(second).log_out()
        logout = [await close_code(ws) for ws in opened]
        bob_open = await close_code(bobs, timeout=1) is None
        # A token issued before the logout is refused on any server.
        old_token = await socket(second, f"/ws/notifications/?token={answer['token']}")
        token_code = await close_code(old_token)

        # A password change and a deactivation, made by a third process (manage.py shell), reach both servers.
        codes = {}
        for username, change in (("carol", "u.set_password('another long pw 43')"), ("dave", "u.is_active = False")):
            opened = await sockets_of(Browser(first).log_in(username))
            await asyncio.to_thread(change_user, redis_project, env, username, change)
            codes[change] = [await close_code(ws) for ws in opened]
        return logout, bob_open, token_code, codes

    logout, bob_open, token_code, codes = asyncio.run(scenario())
    assert logout == [UNAUTHORIZED] * 2 * len(paths)
    assert bob_open
    assert token_code == UNAUTHORIZED
    for change, closed in codes.items():
        assert closed == [UNAUTHORIZED] * 2 * len(paths), change


def change_user(project, env, username, statement):
    """Run `statement` on the user `u`, then save it, in a process of its own (manage.py shell)."""
    code = (
        "from django.contrib.auth import get_user_model; "
        f"u = get_user_model().objects.get(username={username!r})\n{statement}\nu.save()"
    )
    run_in(project, "python", "manage.py", "shell", "-c", code, env=env)


@pytest.mark.redis
def test_login_rate_limits_are_shared_by_every_server_process(two_servers):
    _, (first, second) = two_servers
    for attempt in range(10):  # settings.LOGIN_FAILURES_PER_USERNAME
        status, _, _ = Browser((first, second)[attempt % 2]).token("/ws/", username="alice", password="wrong")
        assert status == 401
    for address in (first, second):
        status, answer, retry_after = Browser(address).token("/ws/", username="alice", password=PASSWORD)
        assert status == 429 and "Too many failed logins" in answer["error"]
        assert 0 < int(retry_after) <= 900
        _, page = Browser(address).post_form("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert "Too many failed logins" in page and "Log out" not in page
    # Another user is not held back.
    assert Browser(second).token("/ws/", username="bob", password=PASSWORD)[0] == 200


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session)


def test_the_dev_server_accepts_its_own_origin_only_and_its_log_holds_no_token(project):
    env = baked_env()
    run_in(project, "python", "manage.py", "shell", "-c", CREATE_USERS, env=env)
    process, address = start_uvicorn(project, env)
    port = address.split(":")[1]
    try:
        own = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        assert refused(address, "/ws/echo/", own[0]) is None
        assert refused(f"localhost:{port}", "/ws/echo/", own[1]) is None
        for foreign in (f"http://127.0.0.1:{free_port()}", f"https://127.0.0.1:{port}", "http://localhost"):
            assert refused(address, "/ws/echo/", foreign) == 403, foreign
        secrets = send_tokens_every_way(address)
    finally:
        output = stop(process)
    assert f"WebSocket refused: Origin 'https://127.0.0.1:{port}' is not this server's origin" in output
    assert_no_token(output, secrets)


def send_tokens_every_way(address, base=None):
    """Requests carrying real socket tokens (through `base`, e.g. nginx, when given): plain GETs and sockets,
    the parameter spelled in several ways; returns the tokens and the spellings that must never be logged."""
    base = base or address
    status, answer, _ = Browser(address).token("/ws/", username="alice", password=PASSWORD)
    assert status == 200, answer
    token = answer["token"]
    quoted = urllib.parse.quote(token)
    for query in (f"token={quoted}", f"tok%65n={quoted}", f"TOKEN={token}", f"a=1&t%6Fken={quoted}", f"t={quoted}"):
        try:
            urllib.request.urlopen(f"http://{base}/?{query}", timeout=10).read()
        except urllib.error.HTTPError:
            pass

    async def sockets():
        for query in (f"token={quoted}", f"tok%65n={quoted}"):
            async with socket(base, f"/ws/notifications/?{query}") as ws:
                # Logged in by the token, whatever its spelling: the socket stays open.
                assert await close_code(ws, timeout=0.5) is None

    asyncio.run(sockets())
    return [token, quoted, token.rsplit(":", 1)[-1]]


def assert_no_token(log, secrets):
    for secret in secrets:
        assert secret not in log, f"a token is in the log:\n{log[-3000:]}"


@pytest.mark.nginx
@pytest.mark.redis
def test_behind_nginx_the_production_origin_works_and_no_log_holds_a_token(redis_project, redis_url, tmp_path):
    # Plain http here, so no redirect to https; the proxy header still says HTTPS where a test sends it.
    env = baked_env(
        **PRODUCTION,
        DJANGO_SECURE_SSL_REDIRECT="false",
        REDIS_URL=redis_url,
        CHANNEL_LAYER_PREFIX=f"nginx-{tmp_path.name}",
    )
    run_in(redis_project, "python", "manage.py", "shell", "-c", CREATE_USERS, env=env)
    run_in(redis_project, "python", "manage.py", "collectstatic", "--noinput", "--verbosity", "0", env=env)
    conf = (redis_project / "deploy/nginx.conf").read_text()
    assert conf.count("access_log /var/log/nginx/access.log") == 1, "deploy/nginx.conf names its access log"
    gunicorn, upstream = start_gunicorn(redis_project, env, workers=2)
    port = free_port()
    access_log = tmp_path / "nginx" / "access.log"
    try:
        site = render_nginx_site(conf, port, upstream, redis_project / "staticfiles")
        nginx = start_nginx(site.replace("/var/log/nginx/access.log", str(access_log)), tmp_path / "nginx")
    except BaseException:
        stop(gunicorn)
        raise
    address = f"127.0.0.1:{port}"
    try:
        # The page's own origin, through nginx (the Host keeps its port); another port or scheme is refused.
        assert refused(address, "/ws/echo/", f"http://{address}") is None
        assert refused(address, "/ws/echo/", f"http://127.0.0.1:{free_port()}") == 403
        assert refused(address, "/ws/echo/", f"https://{address}") == 403
        # The production origin behind the TLS proxy: HTTPS said by X-Forwarded-Proto from 127.0.0.1.
        https = {"X-Forwarded-Proto": "https"}
        assert refused(upstream, "/ws/echo/", "https://example.org", https, host="example.org") is None
        assert refused(upstream, "/ws/echo/", "http://example.org", https, host="example.org") == 403
        secrets = send_tokens_every_way(upstream, base=address)
    finally:
        nginx_output = stop(nginx)
        gunicorn_output = stop(gunicorn)
    assert "[emerg]" not in nginx_output, nginx_output
    assert "WebSocket refused: Origin 'http://example.org' is not this server's origin" in gunicorn_output
    logged = access_log.read_text()
    assert '"GET / HTTP/1.1" 200' in logged and "/ws/notifications/ HTTP/1.1" in logged, logged
    assert "?" not in logged, logged
    assert_no_token(logged, secrets)
    assert_no_token(gunicorn_output, secrets)


def test_env_and_database_are_their_owners_only_and_check_deploy_says_when_not(cookies_session):
    project = bake_and_migrate(cookies_session)
    assert (project / ".env").stat().st_mode & 0o777 == 0o600
    assert (project / "db.sqlite3").stat().st_mode & 0o777 == 0o600

    def deploy_check(**env):
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=project,
            env=baked_env(**{**PRODUCTION, **env}),
            capture_output=True,
            text=True,
        )
        return result.returncode, result.stdout + result.stderr

    assert deploy_check() == (0, "System check identified no issues (0 silenced).\n")
    (project / ".env").chmod(0o644)
    (project / "db.sqlite3").chmod(0o640)
    code, output = deploy_check(DJANGO_ALLOWED_HOSTS="*")
    assert code == 1
    assert "secrets.W001" in output and "secrets.W002" in output and "sockets.W001" in output
    assert "chmod 600" in output


def test_a_debug_page_does_not_show_the_redis_password(cookies_session, tmp_path):
    project = bake_and_migrate(cookies_session, channel_layer="redis")
    server, url = start_redis(tmp_path)
    password = "pw-" + tmp_path.name.replace("_", "-")
    secured = url.replace("redis://", f"redis://:{password}@")
    env = baked_env(DJANGO_DEBUG="true", REDIS_URL=secured, CHANNEL_LAYER_PREFIX=f"debug-{tmp_path.name}")
    process = None
    try:
        redis.Redis.from_url(url).config_set("requirepass", password)
        run_in(project, "python", "manage.py", "shell", "-c", CREATE_USERS, env=env)
        process, address = start_uvicorn(project, env)
        browser = Browser(address).log_in("alice")
        # Redis now refuses the server's connections: the next push fails with a debug page.
        redis.Redis.from_url(secured).config_set("requirepass", password + "-changed")
        redis.Redis.from_url(url.replace("redis://", f"redis://:{password}-changed@")).client_kill_filter(
            _type="normal", skipme=True
        )
        status, page = browser.post_form("/notifications/send/", {"message": "hi"}, page="/notifications/")
    finally:
        if process is not None:
            stop(process)
        stop(server)
    assert status == 500 and "Traceback" in page, page[:2000]
    assert "REDIS_URL" in page or "CHANNEL_LAYERS" in page
    assert password not in page
    assert "redis://********************@" in page
