"""The project's WebSocket middleware (asgi.py stacks them): the Origin check, `?token=` login, and the end of a
socket with its login.

- SameOriginMiddleware: a socket opens only from an Origin that Django's CSRF check accepts for a form POST
  (the site's own scheme, host and port, or DJANGO_CSRF_TRUSTED_ORIGINS); each refusal is logged with its reason.
  Channels' AllowedHostsOriginValidator compares the host only, and the browser sends the session cookie to
  every port of a host.
- SocketAuthMiddleware: Channels' AuthMiddlewareStack (scope["session"] and scope["user"] from the session
  cookie) in one scope copy, with `?token=<signed token>` in the socket URL logging the socket in (tokens.py).
- LoginLifetimeMiddleware: closes a logged-in socket with UNAUTHORIZED (4401) when its login ends (logins.py).
- SocketLifetimeMiddleware: closes each socket before the channel layer's group_expiry could silently drop its
  group memberships (close code EXPIRED); the page reconnects and joins afresh.
- SocketCapMiddleware: caps the sockets a user (an anonymous socket: its client address) holds open at once, over
  every server process on Redis; the socket over the cap is closed with TOO_MANY_SOCKETS (4409).
- RedactTokens: servers log each request's URL with its query string; apps.py puts this filter on the server
  loggers (LOGGERS_WITH_URLS) to keep tokens out of the logs, however the client spelled the parameter.

A middleware with nothing to do once the socket is open (the Origin check, an uncapped or anonymous socket)
returns the inner app's coroutine instead of awaiting it: no coroutine of its own then waits out every socket's
life, holding memory and lengthening the chain each message's wake-up passes through. markcoroutinefunction
keeps such a __call__ an ASGI 3 application for asgiref's check (asgiref.compatibility).
"""

import asyncio
import io
import ipaddress
import logging
import random
import re
from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from asgiref.sync import markcoroutinefunction
from channels.auth import get_user
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http.cookie import parse_cookie
from django.middleware.csrf import CsrfViewMiddleware

from {{ cookiecutter.project_slug }} import logins, presence
from {{ cookiecutter.project_slug }}.consumers import (
    EXPIRED,
    TOO_MANY_SOCKETS,
    UNAUTHORIZED,
    close_at_handshake,
)
from {{ cookiecutter.project_slug }}.groups import group_name
from {{ cookiecutter.project_slug }}.health import TRY_AGAIN_LATER, one_line
from {{ cookiecutter.project_slug }}.ratelimit import client_address
from {{ cookiecutter.project_slug }}.tokens import login_for_token

# The loggers that write request URLs: the servers' (uvicorn's, its ASGI trace log with each scope, and gunicorn's
# around its uvicorn workers) and Django's request log.
LOGGERS_WITH_URLS = (
    "uvicorn.error",
    "uvicorn.access",
    "uvicorn.asgi",
    "gunicorn.error",
    "gunicorn.access",
    "django.request",
)
# A query parameter as it stands in a URL or a logged query string, still percent-encoded: name=value after "?",
# "&", ";" or the quote of b'...'.
QUERY_PARAMETER = re.compile(r"(?<=[?&;'])([^=&;#\s\"']+)=([^&;#\s\"']*)")
# A value signed by django.core.signing (a socket token) anywhere, its colons plain or percent-encoded.
COLON = r"(?::|%3[aA]|%253[aA])"
SIGNED_VALUE = re.compile(r"\.?[A-Za-z0-9_-]{8,}" + COLON + r"[A-Za-z0-9]{4,}" + COLON + r"[A-Za-z0-9_-]{43}")
REDACTED = "[redacted]"
# scope key SocketAuthMiddleware sets: the login session a token was issued to (None: issued for a password).
TOKEN_SESSION = "token_session"

logger = logging.getLogger(__name__)


class SameOriginMiddleware:
    """Refuses a socket (HTTP 403 at the handshake) unless Django's CSRF check would accept its Origin for a form
    POST: the server's own origin (scheme, host and port, with SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST
    honoured, the host in ALLOWED_HOSTS) or one of CSRF_TRUSTED_ORIGINS. Logs the reason for each refusal."""

    def __init__(self, inner):
        self.inner = inner

    @markcoroutinefunction  # hands over the inner app's coroutine (module docstring)
    def __call__(self, scope, receive, send):
        reason = origin_refusal(scope) if scope["type"] == "websocket" else None
        if reason is not None:
            return self.refuse(reason, receive, send)
        return self.inner(scope, receive, send)

    async def refuse(self, reason, receive, send):
        logger.warning("WebSocket refused: %s", reason)
        if (await receive())["type"] == "websocket.connect":
            await send({"type": "websocket.close"})  # before accepting: the server answers 403


def origin_refusal(scope):
    """Why the socket of `scope` may not open (a sentence), or None when its Origin is allowed."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
    origin = headers.get("origin")
    request = request_for(scope)
    # Django's own rule (CsrfViewMiddleware, unchanged since Django 4.0), rather than a copy that could drift;
    # tests/test_origin.py fails if it ever goes.
    # (A private method, absent from django-stubs; the get_response given is never called.)
    if origin and CsrfViewMiddleware(lambda request: None)._origin_verified(request):  # type: ignore[arg-type, attr-defined]
        return None
    try:
        host = request.get_host()
    except DisallowedHost:
        host_refused = f"Host {headers.get('host', '')!r} is not in DJANGO_ALLOWED_HOSTS"
        if not origin:
            return f"no Origin header, and {host_refused}: a client must send one of DJANGO_CSRF_TRUSTED_ORIGINS."
        return f"{host_refused}, and Origin {origin!r} is not in DJANGO_CSRF_TRUSTED_ORIGINS."
    own = f"{'https' if request.is_secure() else 'http'}://{host}"
    if not origin:
        return (
            f"no Origin header. Browsers always send one; other clients must send this server's own origin {own!r} "
            "or one of DJANGO_CSRF_TRUSTED_ORIGINS."
        )
    return (
        f"Origin {origin!r} is not this server's origin {own!r} (scheme, host and port must match) "
        "nor in DJANGO_CSRF_TRUSTED_ORIGINS."
    )


def request_for(scope):
    """The socket's handshake as the HTTP request Django's CSRF check reads: its headers, ws -> http, wss -> https."""
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "ws"), scope.get("scheme"))
    # The query string is not needed and may not be valid UTF-8, which ASGIRequest would fail to decode.
    http_scope = {**scope, "type": "http", "method": "GET", "scheme": scheme, "query_string": b""}
    return ASGIRequest(http_scope, io.BytesIO())


class SocketAuthMiddleware:
    """Sets scope["cookies"], scope["session"] and scope["user"] for a socket, as Channels' AuthMiddlewareStack
    does, in one copy of its scope: the user is the one `?token=` names (tokens.py; the last token, as parse_qs
    reads it, checked for the socket's path), else the session cookie's, else AnonymousUser. A token also sets
    scope[TOKEN_SESSION], the login session it was issued to. A forged, altered, expired or revoked token, or
    one issued for another path, makes the user anonymous, even with a session cookie: a client that sends a
    token means it.

    Channels' stack (CookieMiddleware, SessionMiddleware, AuthMiddleware) copies the scope four times and keeps
    four coroutines waiting for every socket's whole life, and its session wrapper reads the session twice for
    every frame sent, to save it only on an HTTP response. The user is read by Channels' own get_user(). As with
    Channels' stack, a consumer that changes the session saves it itself (`await self.scope["session"].asave()`).
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        cookies = cookies_of(scope)
        session_store = import_module(settings.SESSION_ENGINE).SessionStore
        scope = {**scope, "cookies": cookies, "session": session_store(cookies.get(settings.SESSION_COOKIE_NAME))}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            scope["user"], scope[TOKEN_SESSION] = await login_for_token(query["token"][-1], scope.get("path", ""))
        else:
            scope["user"] = await get_user(scope)
        return await self.inner(scope, receive, send)


def cookies_of(scope):
    """The cookies of the scope's Cookie header, {name: value}, parsed as Django and Channels parse them."""
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin-1"))
    return {}


class LoginLifetimeMiddleware:
    """Closes a logged-in user's socket with UNAUTHORIZED (4401) as soon as its login ends: its session logs
    out, or the user's password changes, or the user is deactivated or deleted (logins.py sends the event).

    It works for every consumer, sync ones included, without their help: the socket listens on a channel of its
    own, in the user's and the session's login groups; on the event it sends the close to the server, which
    hands the consumer a websocket.disconnect (code 4401) as if the client had left. What the consumer sends
    after that is dropped. If the channel layer cannot be reached, a logged-in socket is not served: it could
    not learn that its login ended (health.DependencyGuard closes it with 1013, try again later).
    """

    def __init__(self, inner):
        self.inner = inner

    @markcoroutinefunction  # hands over the inner app's coroutine for an anonymous socket (module docstring)
    def __call__(self, scope, receive, send):
        user = scope.get("user")
        layer = get_channel_layer() if scope["type"] == "websocket" else None
        if layer is None or user is None or not user.is_authenticated:
            return self.inner(scope, receive, send)
        return self.watched(layer, user, scope, receive, send)

    async def watched(self, layer, user, scope, receive, send):
        groups = [logins.user_group(user)]
        session = login_session(scope)
        if session:
            groups.append(logins.session_group(session))
        watch = LoginWatch(layer, groups, send)
        await watch.start()  # a layer that cannot be reached fails the socket here, as joining any group would
        try:
            return await self.inner(scope, receive, watch.send)
        finally:
            await watch.stop()


def login_session(scope):
    """The session_id of the login a socket belongs to: the token's session, else the session cookie's."""
    if TOKEN_SESSION in scope:
        return scope[TOKEN_SESSION]
    session_key = getattr(scope.get("session"), "session_key", None)
    return logins.session_id(session_key) if session_key else None


class LoginWatch:
    """One socket's channel in its login groups, and the send() that closes the socket when the login ends."""

    def __init__(self, layer, groups, send):
        self.layer, self.groups, self.server_send = layer, groups, send
        self.accepted = self.closed = self.ended = False
        self.channel = self.task = None

    async def start(self):
        self.channel = await self.layer.new_channel()
        for group in self.groups:
            await self.layer.group_add(group, self.channel)
        self.task = asyncio.ensure_future(self.watch())

    async def watch(self):
        try:
            while (await self.layer.receive(self.channel)).get("type") != logins.LOGIN_ENDED:
                pass
        except Exception as error:
            # Redis is gone: the socket could no longer learn that its login ended. The client retries later.
            problem = one_line(error)
            if self.closed:
                logger.warning("A logged-in socket, closed already, lost its channel layer: %s.", problem)
            elif not await self.close(TRY_AGAIN_LATER):
                logger.warning("A logged-in socket lost its channel layer (%s); its client had left already.", problem)
            elif self.accepted:
                logger.warning(
                    "Closed a logged-in socket with %s: its channel layer failed (%s).", TRY_AGAIN_LATER, problem
                )
            else:  # a close before the accept: the server refuses the handshake (HTTP 403)
                logger.warning("Refused a logged-in socket at its handshake: its channel layer failed (%s).", problem)
            return
        self.ended = True
        if self.accepted:
            await self.close(UNAUTHORIZED)

    async def send(self, message):
        if self.closed:
            return  # the login ended and the socket is closed: what the consumer still sends goes nowhere
        if message["type"] == "websocket.close":
            self.closed = True
        await self.server_send(message)
        if message["type"] == "websocket.accept":
            self.accepted = True
            if self.ended:
                await self.close(UNAUTHORIZED)

    async def close(self, code):
        """Send the close with `code` unless one was sent; returns whether this call sent it."""
        if self.closed:
            return False
        self.closed = True
        try:
            await self.server_send({"type": "websocket.close", "code": code})
        except Exception:
            logger.debug("The client left before its socket could be closed.", exc_info=True)
            return False
        return True

    async def stop(self):
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        for group in self.groups:
            try:
                await self.layer.group_discard(group, self.channel)
            except Exception as error:
                logger.warning("Could not leave login group %s: %s.", group, one_line(error))


def redact_tokens(text):
    """`text` with the value of every query parameter named like a token (`token`, `TOKEN`, `tok%65n`,
    `access_token`...) and every signed value anywhere (a socket token under any name) replaced by [redacted]."""

    def parameter(match):
        return f"{match[1]}={REDACTED}" if means_token(match[1]) else match[0]

    return SIGNED_VALUE.sub(REDACTED, QUERY_PARAMETER.sub(parameter, text))


def means_token(name):
    """Whether a query parameter's name, however encoded (three times at most) or cased, says "token"."""
    for _ in range(3):
        name = unquote_plus(name)
    return "token" in re.sub(r"[^a-z]", "", name.casefold())


class RedactTokens(logging.Filter):
    """Passes every record, with redact_tokens() applied to its arguments (and to its message when it has none).
    An argument that is a dict, list, tuple or bytes (an ASGI scope) is replaced by its redacted text when that
    differs."""

    def filter(self, record):
        if isinstance(record.args, tuple):
            record.args = tuple(redacted(argument) for argument in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: redacted(value) for key, value in record.args.items()}
        if not record.args and isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        return True


def redacted(argument):
    if isinstance(argument, str):
        return redact_tokens(argument)
    if isinstance(argument, dict | list | tuple | bytes):
        text = str(argument)
        clean = redact_tokens(text)
        return clean if clean != text else argument
    return argument


class SocketLifetimeMiddleware:
    """Closes each socket with close code EXPIRED (consumers.py) before its group memberships can expire.

    Both channel layers drop a membership `group_expiry` seconds (a day by default) after group_add, even while
    the socket is open; uvicorn keeps sockets open for ever, so a tab left open would stay "connected" and hear
    nothing more. Every socket is closed at a random moment between MIN_AGE and MAX_AGE of the layer's
    group_expiry (spread, so that sockets opened together do not all reconnect at once): its consumer's
    disconnect() runs as for a client that left, and the page reconnects and joins its groups afresh.
    Pages that connect with site.connect (static/site/socket.js) reconnect at once on EXPIRED; a client of your
    own should too.
    """

    MIN_AGE, MAX_AGE = 0.8, 0.9  # of group_expiry

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        group_expiry = getattr(get_channel_layer(), "group_expiry", None) if scope["type"] == "websocket" else None
        if not group_expiry:
            return await self.inner(scope, receive, send)
        expired = closed = False
        waiting: asyncio.Task[Any] | None = None  # the task waiting on the server's receive() now

        def expire():
            nonlocal expired
            expired = True
            if waiting is not None:
                waiting.cancel()  # wakes its receive_until_expired(), which closes the socket

        async def receive_until_expired():
            nonlocal waiting, closed
            if not expired:
                waiting = asyncio.current_task()
                try:
                    return await receive()
                except asyncio.CancelledError:
                    # Expired during this wait: expire() cancelled it. Re-raised if cancelled from outside too.
                    if not expired or waiting is None or waiting.uncancel():
                        raise
                finally:
                    waiting = None
            if not closed:
                closed = True
                try:
                    await send({"type": "websocket.close", "code": EXPIRED})
                except Exception:
                    logger.debug("The client left before its socket could be closed.", exc_info=True)
            return {"type": "websocket.disconnect", "code": EXPIRED}

        async def send_until_closed(message):
            # Until the close is sent, a handler past the deadline still reaches its client; after it, nothing does.
            if not closed:
                await send(message)

        # One timer for the socket's life, where a wait with a timeout on each receive() cost a task per message.
        timer = asyncio.get_running_loop().call_later(group_expiry * random.uniform(self.MIN_AGE, self.MAX_AGE), expire)
        try:
            return await self.inner(scope, receive_until_expired, send_until_closed)
        finally:
            timer.cancel()


class SocketCapMiddleware:
    """Closes a socket with TOO_MANY_SOCKETS (4409) right after its handshake when its user already holds
    settings.SOCKETS_PER_USER open sockets, or, for an anonymous socket, its client address holds
    settings.SOCKETS_PER_ADDRESS (IPv6: per /64). 0 turns a cap off.

    Sockets are counted in the presence registry (presence.py), so on Redis over every server process, and a
    killed process's sockets stop counting within 2 presence heartbeats. Loopback addresses are not capped:
    behind a proxy whose X-Forwarded-For the server does not trust, every visitor would be 127.0.0.1. Two sockets
    opening in the same instant at the cap may both be refused (each counts the other): never one too many.
    """

    def __init__(self, inner):
        self.inner = inner

    @markcoroutinefunction  # hands over the inner app's coroutine when there is no cap (module docstring)
    def __call__(self, scope, receive, send):
        key, cap = cap_for(scope) if scope["type"] == "websocket" else (None, 0)
        if not cap:
            return self.inner(scope, receive, send)
        return self.counted(key, cap, scope, receive, send)

    async def counted(self, key, cap, scope, receive, send):
        entry = presence.Entry(key, scope.get("user"), announce=False)
        try:
            others = (await entry.join()).sockets - 1  # open or opening, this one left out
            if others >= cap:
                if await close_at_handshake(receive, send, TOO_MANY_SOCKETS):
                    logger.warning(
                        "WebSocket %s closed with %s: %s already holds %d open socket(s); the cap is %d.",
                        scope.get("path"),
                        TOO_MANY_SOCKETS,
                        key,
                        others,
                        cap,
                    )
                return
            return await self.inner(scope, receive, send)
        finally:
            await entry.leave()


def cap_for(scope):
    """(registry key, cap) for a socket: its user's, or its address's when anonymous; (None, 0) for no cap."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return group_name("sockets", "user", user.pk), settings.SOCKETS_PER_USER
    host = (scope.get("client") or [None])[0]
    if not host:
        return None, 0
    address = client_address(SimpleNamespace(META={"REMOTE_ADDR": host}))  # ratelimit.py reads a request
    try:
        if ipaddress.ip_network(address).network_address.is_loopback:
            return None, 0
    except ValueError:
        return None, 0  # not an IP address (a unix socket's peer)
    return group_name("sockets", "address", address), settings.SOCKETS_PER_ADDRESS
