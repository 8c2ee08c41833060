"""The socket limits (docs/sockets.md): open sockets per user (middleware.SocketCapMiddleware, close code 4409)
and each JSON socket's message rate (JsonConsumer, close code 4429). Real clients on real uvicorn processes,
two of them with pytest --redis (the cap counts across processes), plus in-process checks on either layer."""

import asyncio
import json

import pytest
import websockets
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.consumers import CHARACTERS_PER_MESSAGE, RATE_LIMITED, TOO_MANY_SOCKETS, TokenBucket
from {{ cookiecutter.project_slug }}.middleware import SocketCapMiddleware
from {{ cookiecutter.project_slug }}.testing.live_server import live_servers
from {{ cookiecutter.project_slug }}.testing.routes import routed_paths
from {{ cookiecutter.project_slug }}.tests.sessions import cookie_for

pytestmark = pytest.mark.django_db(transaction=True)

CAP = 2  # SOCKETS_PER_USER of the servers started here
RATE, BURST = 1, 3  # SOCKET_MESSAGES_PER_SECOND, SOCKET_MESSAGE_BURST of the servers started here
WAIT = 10  # seconds: a bound on hanging


@pytest.fixture(scope="module")
def servers(request, process_env, tmp_path_factory):
    """Two servers on the session's Redis with --redis (one process is all the in-memory layer serves)."""
    limits = {"SOCKETS_PER_USER": str(CAP), "SOCKET_MESSAGES_PER_SECOND": str(RATE), "SOCKET_MESSAGE_BURST": str(BURST)}
    logs = tmp_path_factory.mktemp("limits")
    count = 2 if request.config.getoption("--redis") else 1
    with live_servers({**process_env, **limits}, logs, count) as started:
        yield started


@pytest.fixture
def path():
    """A socket path that stays open for a logged-in user."""
    limited = ("/ws/echo-json/", "/ws/chat/lobby/")  # the demo apps' sockets whose frames this test knows
    paths = [path for path in routed_paths() if path in limited]
    if not paths:
        pytest.skip(f"none of {list(limited)} is routed: they are the sockets this test sends frames on")
    return paths[0]


async def open_socket(server, path, cookie=None):
    url = server.url.replace("http", "ws", 1) + path
    return await websockets.connect(url, origin=server.url, additional_headers={"Cookie": cookie} if cookie else None)


async def close_code(socket):
    """The code the server closes `socket` with (frames before it are skipped)."""
    async with asyncio.timeout(WAIT):
        try:
            while True:
                await socket.recv()
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


async def test_a_users_socket_over_the_cap_is_closed_while_another_user_connects(servers, path, make_user):
    alice, bob = await cookie_for(await make_user("alice")), await cookie_for(await make_user("bob"))
    # With --redis the sockets are spread over two processes: the cap counts them all.
    open_ones = [await open_socket(servers[n % len(servers)], path, alice) for n in range(CAP)]
    refused = await open_socket(servers[-1], path, alice)
    assert await close_code(refused) == TOO_MANY_SOCKETS
    others = await open_socket(servers[0], path, bob)
    await others.send(json.dumps({"message": "hi"}))
    assert json.loads(await asyncio.wait_for(others.recv(), WAIT))

    await open_ones[0].close()  # a tab closed: alice may open one again
    async with asyncio.timeout(WAIT):
        while True:
            again = await open_socket(servers[-1], path, alice)
            try:
                await asyncio.wait_for(again.recv(), 0.5)
            except TimeoutError:
                break  # it stayed open
            except websockets.ConnectionClosed:
                continue  # the closed tab's entry was still leaving
    for socket in [*open_ones, others, again]:
        await socket.close()


async def test_anonymous_sockets_are_capped_per_address_and_loopback_is_not(settings, path):
    settings.SOCKETS_PER_ADDRESS = 2
    origin = [(b"host", b"localhost"), (b"origin", b"http://localhost")]

    async def connect_from(address):
        async def from_address(scope, receive, send):
            return await application({**scope, "client": (address, 50000)}, receive, send)

        socket = WebsocketCommunicator(from_address, path, headers=origin)
        connected, _ = await socket.connect()
        assert connected
        opened.append(socket)
        return socket

    opened = []
    for _ in range(2):
        await connect_from("203.0.113.7")
    assert await (await connect_from("203.0.113.7")).receive_output(WAIT) == {
        "type": "websocket.close",
        "code": TOO_MANY_SOCKETS,
    }
    # Another address, and another host of the same IPv6 /64 counting with the first.
    await connect_from("198.51.100.1")
    await connect_from("2001:db8::1")
    await connect_from("2001:db8::2")
    assert (await (await connect_from("2001:db8::3")).receive_output(WAIT))["code"] == TOO_MANY_SOCKETS
    for _ in range(3):
        assert await (await connect_from("127.0.0.1")).receive_nothing()
    for socket in opened:
        await socket.disconnect()


async def test_a_client_over_the_rate_limit_gets_an_error_then_the_close_code(servers, path, make_user):
    socket = await open_socket(servers[0], path, await cookie_for(await make_user("chatty")))
    for n in range(BURST):
        await socket.send(json.dumps({"message": f"burst {n}"}))
        assert "error" not in json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    await socket.send(json.dumps({"message": "one too many"}))
    assert "Too many messages" in json.loads(await asyncio.wait_for(socket.recv(), WAIT))["error"]
    for _ in range(BURST):  # it keeps going: those are dropped, and the last closes the socket
        await socket.send(json.dumps({"message": "more"}))
    assert await close_code(socket) == RATE_LIMITED


async def test_a_client_that_waits_for_its_bucket_is_served_again(connect, settings, path):
    # One a second: slow enough that no token comes back between two frames sent at once, on any machine.
    settings.SOCKET_MESSAGES_PER_SECOND, settings.SOCKET_MESSAGE_BURST = 1, 2
    socket = await connect(path)

    async def answers_to(*texts):
        """What the socket answers to `texts` sent at once: [the messages served], [the errors]. A room's echo of
        a message comes through the channel layer, so the error about a later one may come before it."""
        for text in texts:
            await socket.send_json_to({"message": text})
        answers = [await socket.receive_json_from(WAIT) for _ in texts]
        return [a["message"] for a in answers if "error" not in a], [a["error"] for a in answers if "error" in a]

    served, errors = await answers_to("a", "b", "c")
    assert served == ["a", "b"] and len(errors) == 1 and "Too many messages" in errors[0]
    await asyncio.sleep(1 + 0.05)  # one message's worth
    served, errors = await answers_to("d", "e")
    # Over the limit again before the bucket filled up: this run of drops is told too, not dropped in silence.
    assert served == ["d"] and len(errors) == 1 and "Too many messages" in errors[0]


async def test_a_large_frame_counts_once_for_every_64k_characters_it_holds(connect, settings, path):
    # Parsing is what a frame costs: counted one a frame, 20 frames of 1 MiB a second would keep a core busy.
    settings.SOCKET_MESSAGES_PER_SECOND, settings.SOCKET_MESSAGE_BURST = 1, 4
    socket = await connect(path)
    await socket.send_json_to({"message": "x" * (3 * CHARACTERS_PER_MESSAGE)})  # 3 x 64 K and a few: 4 messages
    assert "Too many messages" not in (await socket.receive_json_from(WAIT)).get("error", "")
    await socket.send_json_to({"message": "small"})
    assert "Too many messages" in (await socket.receive_json_from(WAIT)).get("error", "")


def test_a_bucket_of_no_tokens_lets_no_frame_through():
    # A frame's cost is capped at the burst; capped to 0, a consumer class with message_burst = 0 had no limit at all.
    bucket = TokenBucket(rate=RATE, burst=0)
    assert not bucket.take() and not bucket.take(3)


async def test_a_socket_over_the_cap_is_logged_once_closed_with_the_count_it_met(settings, caplog):
    settings.SOCKETS_PER_ADDRESS = 1
    scope = {"type": "websocket", "path": "/ws/capped/", "client": ("203.0.113.9", 50000)}
    opened, release, sent = asyncio.Event(), asyncio.Event(), []

    async def stays_open(scope, receive, send):
        opened.set()
        await release.wait()

    async def send(message):
        sent.append(message)

    async def client_left():
        return {"type": "websocket.disconnect", "code": 1001}

    async def client_connects():
        return {"type": "websocket.connect"}

    cap = SocketCapMiddleware(stays_open)
    first = asyncio.ensure_future(cap(scope, client_connects, send))
    await asyncio.wait_for(opened.wait(), WAIT)
    await cap(scope, client_left, send)  # over the cap, but gone before its handshake: nothing closed, nothing said
    assert sent == [] and "WebSocket" not in caplog.text
    await cap(scope, client_connects, send)
    assert sent[-1] == {"type": "websocket.close", "code": TOO_MANY_SOCKETS}
    assert f"WebSocket /ws/capped/ closed with {TOO_MANY_SOCKETS}: " in caplog.text
    assert "already holds 1 open socket(s); the cap is 1." in caplog.text
    release.set()
    await asyncio.wait_for(first, WAIT)
