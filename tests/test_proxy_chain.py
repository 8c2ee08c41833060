"""The proxy chain the deploy docs describe: a TLS proxy (a load balancer, Caddy on a Docker host) in front of the
shipped deploy/nginx.conf, in front of gunicorn. Requests shaped as that proxy sends them (plain http to nginx,
`X-Forwarded-Proto: https`, the public Host) must work for pages, a login form and sockets; the same header from
a client nginx does not trust must change nothing.

The test's connections from 127.0.0.1 play the TLS proxy (the address deploy/nginx.conf trusts); connections
from 127.0.0.2 (loopback too) play a client on the network."""

import asyncio
import http.client
import json
import re
import urllib.parse

import pytest
import websockets

from .support.bakes import bake_and_migrate, baked_env, run_in
from .support.processes import free_port, read_until, render_nginx_site, start_gunicorn, start_nginx, stop

pytestmark = [pytest.mark.nginx, pytest.mark.redis]
DOMAIN = "example.com"
PROXY, CLIENT = "127.0.0.1", "127.0.0.2"
FROM_TLS_PROXY = {"Host": DOMAIN, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


@pytest.fixture(scope="module")
def chain(cookies_session, tmp_path_factory, redis_url):
    """(nginx port, gunicorn output) for production settings behind the shipped nginx site."""
    project = bake_and_migrate(cookies_session, channel_layer="redis")
    env = baked_env(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS=DOMAIN, REDIS_URL=redis_url)
    create = "from django.contrib.auth.models import User; User.objects.create_user('ada', password='tls-chain-pw-1')"
    run_in(project, "python", "manage.py", "shell", "-c", create, env=env)
    gunicorn, upstream = start_gunicorn(project, env, workers=2)
    port = free_port()
    site = render_nginx_site((project / "deploy/nginx.conf").read_text(), port, upstream, project / "staticfiles")
    nginx = start_nginx(site, tmp_path_factory.mktemp("nginx"))
    yield port, gunicorn
    stop(nginx)
    stop(gunicorn)


def request(port, method, path, headers, body=None, source=PROXY):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def cookies(headers):
    return dict(re.match(r"([^=]+)=([^;]*)", value).groups() for value in headers.get_all("Set-Cookie") or [])


def test_pages_through_a_tls_proxy_are_served_not_redirected(chain):
    port, _ = chain
    status, headers, _ = request(port, "GET", "/chat/lobby/", FROM_TLS_PROXY)
    assert status == 200, headers
    assert "max-age" in headers["Strict-Transport-Security"]


def test_a_login_form_posted_through_a_tls_proxy_logs_in(chain):
    port, _ = chain
    status, headers, page = request(port, "GET", "/accounts/login/", FROM_TLS_PROXY)
    assert status == 200
    csrf = cookies(headers)["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "ada", "password": "tls-chain-pw-1"})
    browser = {
        **FROM_TLS_PROXY,
        "Origin": f"https://{DOMAIN}",
        "Referer": f"https://{DOMAIN}/accounts/login/",
        "Cookie": f"csrftoken={csrf}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    status, headers, page = request(port, "POST", "/accounts/login/", browser, body=form)
    assert status == 302, page[:2000]
    assert headers["Location"] == "/" and "sessionid" in cookies(headers)


async def chat_through(port, source):
    async with websockets.connect(
        f"ws://{DOMAIN}/ws/chat/lobby/",
        host="127.0.0.1",
        port=port,
        local_addr=(source, 0),
        origin=f"https://{DOMAIN}",
        additional_headers={"X-Forwarded-Proto": "https"},
        proxy=None,
    ) as ws:
        await ws.send(json.dumps({"message": "over tls"}))
        return json.loads(await asyncio.wait_for(ws.recv(), 10))["message"]


def test_sockets_through_a_tls_proxy_pass_the_origin_check(chain):
    port, _ = chain
    assert asyncio.run(chat_through(port, PROXY)) == "over tls"


def test_an_untrusted_client_cannot_claim_https(chain):
    port, gunicorn = chain
    status, headers, _ = request(port, "GET", "/chat/lobby/", FROM_TLS_PROXY, source=CLIENT)
    assert status == 301 and headers["Location"] == f"https://{DOMAIN}/chat/lobby/"
    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(chat_through(port, CLIENT))
    assert refused.value.response.status_code == 403
    # The refusal's log line may reach the reader thread after the 403 reached the client.
    read_until(gunicorn, f"is not this server's origin 'http://{DOMAIN}'", timeout=10)
