"""A socket lives as long as the login that opened it (logins.py, middleware.LoginLifetimeMiddleware).

Logout closes the sockets of that session, a password change, deactivation or deletion every socket of the user,
with UNAUTHORIZED (4401), on both layers (pytest and pytest --redis): for a sync and an async consumer of the
tests' own behind the project's socket middleware, and for every routed consumer of the project's apps. A socket
token stops working at logout and opens only the socket path it was issued for. The template's suite checks the
same across two server processes on Redis.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from django.contrib.auth import get_user_model
from django.test import Client

from {{ cookiecutter.project_slug }}.consumers import UNAUTHORIZED
from {{ cookiecutter.project_slug }}.health import TRY_AGAIN_LATER
from {{ cookiecutter.project_slug }}.middleware import LoginLifetimeMiddleware, LoginWatch, SocketAuthMiddleware
from {{ cookiecutter.project_slug }}.testing.routes import routed_paths, still_open
from {{ cookiecutter.project_slug }}.tests.sessions import log_in
from {{ cookiecutter.project_slug }}.tokens import make_token

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_FOR_LOGIN = {"type": "websocket.close", "code": UNAUTHORIZED}
WAIT = 5  # seconds: a bound on hanging; the close comes at once


class SyncWhoAmI(WebsocketConsumer):
    """Answers every frame with the socket's user (a sync consumer, as app authors write them)."""

    def receive(self, text_data=None, bytes_data=None):
        user = self.scope["user"]
        self.send(text_data=user.get_username() if user.is_authenticated else "anonymous")


class AsyncWhoAmI(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        user = self.scope["user"]
        await self.send(text_data=user.get_username() if user.is_authenticated else "anonymous")


CONSUMERS = {"sync": SyncWhoAmI, "async": AsyncWhoAmI}


@pytest.fixture
def open_socket(connect):
    """`await open_socket(path, headers, kind)`: a connected socket on a consumer of `kind` ("sync" or
    "async") behind the project's session, token and login-lifetime middleware (closed at teardown)."""

    def open_behind_middleware(path, headers=(), kind="sync"):
        app = SocketAuthMiddleware(LoginLifetimeMiddleware(CONSUMERS[kind].as_asgi()))
        return connect(path, headers, app=app)

    return open_behind_middleware


@pytest.fixture
def browser_session(make_user):
    """`await browser_session("alice")`: a new browser logged in as that user (created once): (client, headers)."""

    async def new_browser(username):
        user = await get_user_model().objects.filter(username=username).afirst() or await make_user(username)
        client, cookie = await log_in(user)
        return client, [(b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", cookie.encode())]

    return new_browser


async def test_session_headers_gives_each_user_a_session_of_their_own(open_socket, make_user, session_headers):
    # One shared test client logged bob in over alice's session, which ended it: her socket was anonymous.
    alice = await session_headers(await make_user("alice"))
    bob = await session_headers(await make_user("bob"))
    assert await user_on(await open_socket("/ws/", alice)) == "alice"
    assert await user_on(await open_socket("/ws/", bob)) == "bob"


async def closed_for_login(socket):
    """Whether the socket is closed with 4401 (frames sent before the close are skipped)."""
    while True:
        output = await socket.receive_output(timeout=WAIT)
        if output["type"] == "websocket.close":
            return output == CLOSED_FOR_LOGIN
        assert output["type"] == "websocket.send", output


async def user_on(socket):
    """Who the open socket says its user is."""
    await socket.send_to(text_data="who?")
    return await socket.receive_from(timeout=WAIT)


async def log_out(client):
    await sync_to_async(client.post)("/accounts/logout/")


@pytest.mark.parametrize("kind", CONSUMERS)
async def test_logout_closes_the_sockets_of_that_session_and_no_other(open_socket, browser_session, kind):
    laptop, laptop_headers = await browser_session("alice")
    _, phone_headers = await browser_session("alice")
    _, bob_headers = await browser_session("bob")
    sockets = [await open_socket("/ws/a/", laptop_headers, kind) for _ in range(2)]
    phone, bob = await open_socket("/ws/a/", phone_headers, kind), await open_socket("/ws/a/", bob_headers, kind)

    await log_out(laptop)

    for socket in sockets:
        assert await closed_for_login(socket)
    assert await user_on(phone) == "alice"  # another login of alice's
    assert await user_on(bob) == "bob"


@pytest.mark.parametrize("kind", CONSUMERS)
@pytest.mark.parametrize("change", ["password", "deactivation", "deletion"])
async def test_a_password_change_deactivation_or_deletion_closes_every_socket_of_the_user(
    open_socket, browser_session, change, kind
):
    _, laptop_headers = await browser_session("alice")
    _, phone_headers = await browser_session("alice")
    _, bob_headers = await browser_session("bob")
    sockets = [await open_socket("/ws/a/", headers, kind) for headers in (laptop_headers, phone_headers)]
    bob = await open_socket("/ws/a/", bob_headers, kind)

    alice = await get_user_model().objects.aget(username="alice")
    if change == "password":
        alice.set_password("a-brand-new-password-42")
        await alice.asave()
    elif change == "deactivation":
        alice.is_active = False
        await alice.asave()
    else:
        await alice.adelete()

    for socket in sockets:
        assert await closed_for_login(socket)
    assert await user_on(bob) == "bob"


async def test_saving_a_user_without_a_password_or_activity_change_closes_nothing(open_socket, browser_session):
    _, headers = await browser_session("alice")
    socket = await open_socket("/ws/a/", headers)
    alice = await get_user_model().objects.aget(username="alice")
    alice.first_name = "Alice"
    await alice.asave()
    await alice.asave(update_fields=["last_login"])
    assert await user_on(socket) == "alice"


async def test_a_socket_opened_with_a_session_token_closes_with_that_session(open_socket, browser_session):
    laptop, _ = await browser_session("alice")
    answer = await sync_to_async(laptop.post)("/api/ws-token/", {"path": "/ws/a/"})
    script = await open_socket(f"/ws/a/?token={answer.json()['token']}")
    assert await user_on(script) == "alice"

    await log_out(laptop)
    assert await closed_for_login(script)


async def test_socket_tokens_stop_working_at_logout(open_socket, browser_session):
    laptop, _ = await browser_session("alice")
    from_session = (await sync_to_async(laptop.post)("/api/ws-token/", {"path": "/ws/a/"})).json()
    credentials = {"username": "alice", "password": "pw-alice-123", "path": "/ws/a/"}
    from_password = (await sync_to_async(Client().post)("/api/ws-token/", credentials)).json()

    await log_out(laptop)

    for answer in (from_session, from_password):
        assert await user_on(await open_socket(f"/ws/a/?token={answer['token']}")) == "anonymous"
    fresh = (await sync_to_async(Client().post)("/api/ws-token/", credentials)).json()
    assert await user_on(await open_socket(f"/ws/a/?token={fresh['token']}")) == "alice"


async def test_a_token_opens_only_the_socket_path_it_was_issued_for(open_socket, make_user):
    alice = await make_user("alice")
    token = await sync_to_async(make_token)(alice, "/ws/notifications/")
    assert await user_on(await open_socket(f"/ws/tasks/?token={token}")) == "anonymous"
    assert await user_on(await open_socket(f"/ws/notifications/?token={token}")) == "alice"
    assert await user_on(await open_socket(f"/ws/notifications/x/?token={token}")) == "alice"
    assert await user_on(await open_socket(f"/ws/notifications-and-more/?token={token}")) == "anonymous"
    # A prefix ending with "/" covers every path under it.
    everywhere = await sync_to_async(make_token)(alice, "/ws/")
    assert await user_on(await open_socket(f"/ws/tasks/?token={everywhere}")) == "alice"


def test_the_token_api_wants_the_socket_path(client, django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    answer = client.post("/api/ws-token/", {"username": "alice", "password": "pw-alice-123"})
    assert answer.status_code == 400 and '"path"' in answer.json()["error"]
    answer = client.post("/api/ws-token/", {"username": "alice", "password": "pw-alice-123", "path": "/ws/tasks/"})
    assert answer.status_code == 200 and answer.json()["path"] == "/ws/tasks/"


async def test_every_routed_consumer_closes_at_logout(connect, browser_session):
    # (Without apps that route sockets there is nothing to close: the consumers above stand for them.)
    laptop, headers = await browser_session("alice")
    sockets = {path: await connect(path, headers=headers) for path in routed_paths()}
    sockets = await still_open(sockets)  # one its consumer closed at once leaves the logout nothing to close
    await log_out(laptop)
    for path, socket in sockets.items():
        assert await closed_for_login(socket), path


class FailingLayer:
    """A channel layer whose receive() fails with `error` once `fail` is set; group_discard fails with it too."""

    def __init__(self, error):
        self.error, self.fail = error, asyncio.Event()

    async def new_channel(self):
        return "watch!1"

    async def group_add(self, group, channel):
        pass

    async def receive(self, channel):
        await self.fail.wait()
        raise self.error

    async def group_discard(self, group, channel):
        raise self.error


@pytest.mark.parametrize(
    ("before", "expected", "closes"),
    [
        ([], "Refused a logged-in socket at its handshake: its channel layer failed (Connection refused", True),
        (["websocket.accept"], f"Closed a logged-in socket with {TRY_AGAIN_LATER}: its channel layer failed", True),
        (["websocket.accept", "websocket.close"], "A logged-in socket, closed already, lost its channel layer", False),
    ],
)
async def test_a_login_watch_that_loses_its_layer_logs_what_it_did(caplog, before, expected, closes):
    import redis

    layer, sent = FailingLayer(redis.ConnectionError("Connection refused")), []

    async def send(message):
        sent.append(message)

    watch = LoginWatch(layer, ["login.1"], send)
    await watch.start()
    for kind in before:  # what the consumer sent before Redis failed
        await watch.send({"type": kind, "code": UNAUTHORIZED} if kind == "websocket.close" else {"type": kind})
    layer.fail.set()
    await asyncio.wait_for(watch.task, WAIT)
    assert (sent[-1] == {"type": "websocket.close", "code": TRY_AGAIN_LATER}) is closes
    assert expected in caplog.text
    assert ("Closed" in caplog.text or "Refused" in caplog.text) is closes


async def test_a_login_watch_names_the_error_that_kept_it_in_its_group(caplog):
    watch = LoginWatch(FailingLayer(ValueError("no such group name")), ["login.1"], None)
    await watch.start()
    await watch.stop()
    assert "Could not leave login group login.1: no such group name (ValueError)." in caplog.text
