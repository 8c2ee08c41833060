"""The socket Origin check is Django's CSRF origin check (middleware.SameOriginMiddleware): scheme, host and port
of the page must be the server's own, or listed in CSRF_TRUSTED_ORIGINS; each refusal is logged with its reason.

Checked through the whole ASGI stack here (a path no app routes: an allowed socket is accepted, then closed with
4404); in the real browser, the demo apps' notifications tests check it (baked with include_demo_apps).
"""

import logging

import pytest
from django.core import checks

pytestmark = pytest.mark.django_db(transaction=True)

PROXY = {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"), "ALLOWED_HOSTS": ["example.org"]}


@pytest.mark.parametrize(
    ("host", "origin", "extra_headers", "overrides"),
    [
        ("localhost", "http://localhost", [], {}),
        ("127.0.0.1:8000", "http://127.0.0.1:8000", [], {}),  # the development server
        ("localhost:8000", "http://localhost:8000", [], {}),
        ("[::1]:8000", "http://[::1]:8000", [], {}),
        ("127.0.0.1:8000", "http://127.0.0.1:9999", [], {"CSRF_TRUSTED_ORIGINS": ["http://127.0.0.1:9999"]}),
        ("127.0.0.1:8000", "https://app.example.com", [], {"CSRF_TRUSTED_ORIGINS": ["https://*.example.com"]}),
        # Production behind nginx: HTTPS said by X-Forwarded-Proto.
        ("example.org", "https://example.org", [(b"x-forwarded-proto", b"https")], PROXY),
    ],
)
async def test_the_sites_own_origin_and_trusted_origins_open_sockets(
    connect, settings, host, origin, extra_headers, overrides
):
    for name, value in overrides.items():
        setattr(settings, name, value)
    await connect("/ws/any/", headers=[(b"host", host.encode()), (b"origin", origin.encode()), *extra_headers])


@pytest.mark.parametrize(
    ("host", "origin", "extra_headers", "overrides", "reason"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:9999", [], {}, "is not this server's origin 'http://127.0.0.1:8000'"),
        ("127.0.0.1:8000", "https://127.0.0.1:8000", [], {}, "(scheme, host and port must match)"),
        ("127.0.0.1:8000", "http://localhost:8000", [], {}, "nor in DJANGO_CSRF_TRUSTED_ORIGINS"),
        ("localhost", "http://localhost:8000", [], {}, "is not this server's origin 'http://localhost'"),
        ("localhost", "http://evil.example", [], {"ALLOWED_HOSTS": ["*"]}, "is not this server's origin"),
        ("evil.example", "http://evil.example", [], {}, "Host 'evil.example' is not in DJANGO_ALLOWED_HOSTS"),
        ("example.org", "http://example.org", [(b"x-forwarded-proto", b"https")], PROXY, "'https://example.org'"),
        ("example.org", "https://example.org", [], PROXY, "'http://example.org'"),  # no proxy said HTTPS
        ("localhost", "null", [], {}, "Origin 'null'"),
    ],
)
async def test_any_other_origin_is_refused_and_the_log_says_why(
    refused, settings, caplog, host, origin, extra_headers, overrides, reason
):
    for name, value in overrides.items():
        setattr(settings, name, value)
    with caplog.at_level(logging.WARNING):
        await refused("/ws/any/", headers=[(b"host", host.encode()), (b"origin", origin.encode()), *extra_headers])
    assert "WebSocket refused:" in caplog.text and reason in caplog.text


@pytest.mark.parametrize(
    ("host", "overrides", "reason"),
    [
        # The origin to send is this server's own, on whatever port it runs.
        ("127.0.0.1:5000", {}, "must send this server's own origin 'http://127.0.0.1:5000'"),
        ("example.org", PROXY, "must send this server's own origin 'http://example.org'"),
        ("evil.example", {}, "and Host 'evil.example' is not in DJANGO_ALLOWED_HOSTS: a client must send one of"),
    ],
)
async def test_a_socket_without_origin_is_refused_and_the_log_names_the_origin_to_send(
    refused, settings, caplog, host, overrides, reason
):
    for name, value in overrides.items():
        setattr(settings, name, value)
    with caplog.at_level(logging.WARNING):
        await refused("/ws/any/", headers=[(b"host", host.encode())])
    assert "WebSocket refused: no Origin header" in caplog.text and reason in caplog.text


def test_allowed_hosts_star_warns_in_the_deploy_checks(settings):
    settings.ALLOWED_HOSTS = ["*"]
    assert "sockets.W001" in [message.id for message in checks.run_checks(include_deployment_checks=True)]
    settings.ALLOWED_HOSTS = ["example.org"]
    assert "sockets.W001" not in [message.id for message in checks.run_checks(include_deployment_checks=True)]
