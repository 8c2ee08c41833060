"""Presence (presence.py) through the chat room's sockets: in this process on either layer (pytest and pytest
--redis), and with --redis across real uvicorn processes, one of them killed with SIGKILL."""

import asyncio
import json
import subprocess
import sys
import time
import uuid
from importlib import import_module

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.project_slug }} import presence
from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.testing.live_server import PROJECT_DIR, live_servers
from {{ cookiecutter.project_slug }}.tests.sessions import cookie_for

pytestmark = pytest.mark.django_db(transaction=True)

HEARTBEAT = 1  # second, for the servers started here (PRESENCE_HEARTBEAT_SECONDS)
WAIT = 10  # seconds: a bound on hanging, not a speed requirement


@pytest.fixture(autouse=True)
def needs_chat(settings):
    if "chat" not in settings.PROJECT_APPS:
        pytest.skip("chat (of the demo apps), whose room page shows presence, is not in PROJECT_APPS")


def a_room():
    return f"room-{uuid.uuid4().hex[:8]}"


def presence_group(room):
    # By name: a bake without the demo apps has no chat app (nor the tests that call this).
    return import_module("chat.consumers").presence_group(room)


async def next_presence(socket):
    """The next presence frame a communicator receives, skipping other frames."""
    while True:
        frame = await socket.receive_json_from(timeout=WAIT)
        if "presence" in frame:
            return frame["presence"]


async def test_one_user_with_two_tabs_is_one_entry_and_anonymous_sockets_are_counted(
    connect, make_user, session_headers
):
    room = a_room()
    alice = await session_headers(await make_user("alice"))
    watcher = await connect(f"/ws/chat/{room}/?presence=1", headers=alice)
    assert await next_presence(watcher) == {"users": ["alice"], "anonymous": 0}
    await connect(f"/ws/chat/{room}/", headers=alice)  # a second tab
    assert await next_presence(watcher) == {"users": ["alice"], "anonymous": 0}
    anonymous = [await connect(f"/ws/chat/{room}/") for _ in range(2)]
    await next_presence(watcher)
    assert await next_presence(watcher) == {"users": ["alice"], "anonymous": 2}

    present = await presence.awho_is_in(presence_group(room))
    assert (present.users, present.anonymous, present.sockets) == (["alice"], 2, 4)
    await anonymous[0].disconnect()
    assert await next_presence(watcher) == {"users": ["alice"], "anonymous": 1}


async def test_a_socket_without_presence_1_gets_chat_messages_only(connect):
    room = a_room()
    chatter = await connect(f"/ws/chat/{room}/")
    await connect(f"/ws/chat/{room}/")
    await chatter.send_json_to({"message": "hi"})
    assert await chatter.receive_json_from() == {"message": "hi", "user": "anonymous"}
    assert await chatter.receive_nothing()


async def test_the_synchronous_api_answers_from_a_view_or_the_shell(connect, make_user, session_headers):
    room = a_room()
    await connect(f"/ws/chat/{room}/", headers=await session_headers(await make_user("bob")))
    present = await sync_to_async(presence.who_is_in)(presence_group(room))
    assert present.users == ["bob"]


async def test_an_entry_whose_heartbeat_stopped_leaves_after_two_heartbeats(connect, settings):
    # What a killed process leaves behind: an entry nobody refreshes (here: its heartbeat task cancelled).
    settings.PRESENCE_HEARTBEAT_SECONDS = 0.2
    room = a_room()
    watcher = await connect(f"/ws/chat/{room}/?presence=1")
    assert await next_presence(watcher) == {"users": [], "anonymous": 1}
    orphan = presence.Entry(presence_group(room))
    await orphan.join()
    assert await next_presence(watcher) == {"users": [], "anonymous": 2}
    orphan.task.cancel()
    started = time.monotonic()
    assert await next_presence(watcher) == {"users": [], "anonymous": 1}  # the watcher's heartbeat noticed
    assert time.monotonic() - started < 3 * 0.2 + 0.5
    assert (await presence.awho_is_in(presence_group(room))).anonymous == 1


async def test_a_socket_closed_while_the_channel_layer_fails_still_leaves_the_list(monkeypatch):
    # Redis away when a page closes: leaving the room's groups fails. The socket's entry must go all the same,
    # not stay refreshed by a heartbeat nobody stops (a ghost in the list for the life of the process).
    room = a_room()
    headers = [(b"host", b"localhost"), (b"origin", b"http://localhost")]
    socket = WebsocketCommunicator(application, f"/ws/chat/{room}/", headers)  # not `connect`: it fails on purpose
    assert (await socket.connect())[0]
    assert (await presence.awho_is_in(presence_group(room))).sockets == 1

    async def unreachable(group, channel):
        raise ConnectionError("the channel layer is unreachable")

    monkeypatch.setattr(get_channel_layer(), "group_discard", unreachable)
    with pytest.raises(ConnectionError):  # the consumer fails (the server logs it) after leaving the list
        await socket.disconnect()
    assert (await presence.awho_is_in(presence_group(room))).sockets == 0


# Across real server processes (pytest --redis).


@pytest.fixture
def server_env(process_env):
    return {**process_env, "PRESENCE_HEARTBEAT_SECONDS": str(HEARTBEAT)}


@pytest.fixture
def two_servers(server_env, tmp_path):
    with live_servers(server_env, tmp_path) as servers:
        yield servers


def socket_url(server, room, watch=True):
    return server.url.replace("http", "ws", 1) + f"/ws/chat/{room}/" + ("?presence=1" if watch else "")


async def open_socket(server, room, cookie=None, watch=True):
    headers = {"Cookie": cookie} if cookie else None
    return await websockets.connect(socket_url(server, room, watch), origin=server.url, additional_headers=headers)


async def presence_until(socket, expected):
    """Read presence frames until one equals `expected`; returns the seconds it took."""
    started = time.monotonic()
    async with asyncio.timeout(WAIT):
        while True:
            frame = json.loads(await socket.recv())
            if frame.get("presence") == expected:
                return time.monotonic() - started


@pytest.mark.redis
async def test_the_list_spans_two_server_processes_and_a_shell_reads_it(two_servers, server_env, make_user):
    room = a_room()
    alice, bob = await cookie_for(await make_user("alice")), await cookie_for(await make_user("bob"))
    first, second = two_servers
    on_first = await open_socket(first, room, alice)
    on_second = await open_socket(second, room, bob)
    await open_socket(second, room, alice)  # alice's second tab, on the other process
    await open_socket(first, room, watch=False)  # an anonymous visitor
    everyone = {"users": ["alice", "bob"], "anonymous": 1}
    for socket in (on_first, on_second):
        await presence_until(socket, everyone)

    code = f"from {presence.__name__} import who_is_in; print(who_is_in({presence_group(room)!r}))"
    shell = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=PROJECT_DIR,
        env=server_env,
        capture_output=True,
        text=True,
    )
    assert "Present(users=['alice', 'bob'], anonymous=1, sockets=4)" in shell.stdout, shell.stderr

    await on_second.close()  # bob's only socket
    await presence_until(on_first, {"users": ["alice"], "anonymous": 1})


@pytest.mark.redis
async def test_a_killed_servers_sockets_leave_the_list_within_three_heartbeats(two_servers):
    room = a_room()
    survivor_server, doomed_server = two_servers
    survivor = await open_socket(survivor_server, room)
    for _ in range(2):
        await open_socket(doomed_server, room, watch=False)
    await presence_until(survivor, {"users": [], "anonymous": 3})

    doomed_server.process.kill()  # SIGKILL: no socket says goodbye
    doomed_server.process.wait()
    took = await presence_until(survivor, {"users": [], "anonymous": 1})
    assert took < 3 * HEARTBEAT + 1, took
    assert (await presence.awho_is_in(presence_group(room))).anonymous == 1
