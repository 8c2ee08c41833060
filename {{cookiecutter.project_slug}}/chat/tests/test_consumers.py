import asyncio
import sys
from pathlib import Path

import pytest
from django.db import OperationalError

from {{ cookiecutter.project_slug }} import history
from {{ cookiecutter.project_slug }}.consumers import NOT_FOUND

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parents[2]


async def test_two_clients_in_one_room_see_each_other_and_another_room_does_not(connect):
    alice = await connect("/ws/chat/lobby/")
    bob = await connect("/ws/chat/lobby/")
    carol = await connect("/ws/chat/kitchen/")

    await alice.send_json_to({"message": "hi bob"})
    expected = {"message": "hi bob", "user": "anonymous"}
    assert await alice.receive_json_from() == expected
    assert await bob.receive_json_from() == expected
    assert await carol.receive_nothing()


@pytest.mark.parametrize("room", ["café au lait", "x" * 200, "日本語", "with spaces", ".."])
async def test_any_room_name_works(connect, room):
    socket = await connect(f"/ws/chat/{room}/")
    await socket.send_json_to({"message": "hello"})
    assert (await socket.receive_json_from())["message"] == "hello"


@pytest.mark.parametrize("path", ["/ws/chat//", "/ws/chat/../etc/", "/ws/chat/%2E%2E%2Fetc/", "/ws/chat/a/b/"])
async def test_an_empty_room_or_one_with_a_slash_is_closed_as_not_found(connect, path):
    socket = await connect(path)
    assert await socket.receive_output() == {"type": "websocket.close", "code": NOT_FOUND}


@pytest.mark.parametrize(
    "frame", [{"text": "hi"}, {"message": ""}, {"message": 42}, ["message"], {"message": "x" * 4001}]
)
async def test_a_frame_that_is_not_a_chat_message_gets_an_error_and_the_socket_stays_open(connect, frame):
    socket = await connect("/ws/chat/lobby/")
    await socket.send_json_to(frame)
    assert "error" in await socket.receive_json_from()
    await socket.send_json_to({"message": "still here"})
    assert (await socket.receive_json_from())["message"] == "still here"


async def test_logged_in_users_are_named(connect, django_user_model, client):
    from asgiref.sync import sync_to_async

    user = await sync_to_async(django_user_model.objects.create_user)("alice", password="pw-alice-123")
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    socket = await connect("/ws/chat/lobby/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])
    await socket.send_json_to({"message": "hello"})
    assert (await socket.receive_json_from())["user"] == "alice"


def test_pages_render_and_escape_the_room_name(client):
    assert client.get("/chat/").status_code == 200
    response = client.get("/chat/<b>café/")
    assert response.status_code == 200
    assert b"<b>" not in response.content


async def test_a_room_page_gets_the_recent_messages_then_on_reconnect_what_it_missed(connect):
    chatter = await connect("/ws/chat/history/")  # a script: live messages only, without seqs
    for text in ("one", "two"):
        await chatter.send_json_to({"message": text})
        assert await chatter.receive_json_from() == {"message": text, "user": "anonymous"}
    page = await connect("/ws/chat/history/?since=recent")
    assert [await page.receive_json_from() for _ in range(3)] == [
        {"message": "one", "user": "anonymous", "seq": 1},
        {"message": "two", "user": "anonymous", "seq": 2},
        {"caught_up": 2},
    ]
    await page.disconnect()
    await chatter.send_json_to({"message": "while away"})
    page = await connect("/ws/chat/history/?since=2")  # reconnected, with the last seq it got
    assert await page.receive_json_from() == {"message": "while away", "user": "anonymous", "seq": 3}
    assert await page.receive_json_from() == {"caught_up": 3}
    await chatter.send_json_to({"message": "live"})
    assert await page.receive_json_from() == {"message": "live", "user": "anonymous", "seq": 4}


async def test_a_message_the_database_cannot_store_is_not_sent_and_its_sender_is_told(connect, monkeypatch):
    def database_down(stream, data):
        raise OperationalError("the database is down")

    monkeypatch.setattr(history, "store", database_down)
    sender, listener = await connect("/ws/chat/lobby/"), await connect("/ws/chat/lobby/")
    await sender.send_json_to({"message": "lost?"})
    assert "could not be stored" in (await sender.receive_json_from())["error"]
    assert await listener.receive_nothing()


@pytest.mark.redis
async def test_a_message_stored_from_another_process_reaches_the_room(connect, process_env):
    # The point of a shared layer: a shell, a worker or another server process can talk to these sockets.
    socket = await connect("/ws/chat/lobby/?since=0")
    assert await socket.receive_json_from() == {"caught_up": 0}
    code = (
        "from {{ cookiecutter.project_slug }} import history; from chat.consumers import room_group; "
        "history.append(room_group('lobby'), {'message': 'from a shell', 'user': 'ops'})"
    )
    command = [sys.executable, "manage.py", "shell", "-c", code]
    pipe = asyncio.subprocess.PIPE
    shell = await asyncio.create_subprocess_exec(*command, cwd=PROJECT_DIR, env=process_env, stderr=pipe)
    _, stderr = await shell.communicate()
    assert shell.returncode == 0, stderr.decode()
    assert await socket.receive_json_from(timeout=5) == {"message": "from a shell", "user": "ops", "seq": 1}
