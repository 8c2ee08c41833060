"""Chat history across real server processes (pytest --redis): two uvicorn processes on one Redis, messages sent
to both at once, one process stopped and started again; a socket that reconnects with the last seq it got has
every message once, in order. In one process: test_consumers.py and the project's tests/test_history.py."""

import asyncio
import json
import uuid

import pytest
import websockets

from {{ cookiecutter.project_slug }}.testing.live_server import live_servers

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

WAIT = 10  # seconds: a bound on hanging, not a speed requirement


@pytest.fixture
def two_servers(process_env, tmp_path):
    with live_servers(process_env, tmp_path) as servers:
        yield servers


def open_socket(server, room, since=None):
    query = "" if since is None else f"?since={since}"
    return websockets.connect(server.url.replace("http", "ws", 1) + f"/ws/chat/{room}/{query}", origin=server.url)


async def read_until_caught_up(socket):
    """The messages a socket gets before {"caught_up": n}, and n."""
    messages = []
    async with asyncio.timeout(WAIT):
        while "caught_up" not in (frame := json.loads(await socket.recv())):
            messages.append(frame)
    return messages, frame["caught_up"]


async def read_messages(socket, count):
    async with asyncio.timeout(WAIT):
        return [json.loads(await socket.recv()) for _ in range(count)]


async def test_a_page_gets_every_message_once_in_order_across_two_processes_and_a_restart(two_servers):
    first, second = two_servers
    room = f"history-{uuid.uuid4().hex[:8]}"
    watcher = await open_socket(first, room, since="recent")
    assert await read_until_caught_up(watcher) == ([], 0)
    senders = [await open_socket(server, room) for server in (first, second)]
    sent = 20

    # Both processes store at the same time: each message gets its seq from the database, and the watcher's
    # process hears of the other's through Redis, in whatever order those events arrive.
    async def send_all(n, sender):
        for i in range(sent):
            await sender.send(json.dumps({"message": f"{n}-{i}"}))

    await asyncio.gather(*(send_all(n, sender) for n, sender in enumerate(senders)))
    got = await read_messages(watcher, 2 * sent)
    await read_messages(senders[1], 2 * sent)  # what it heard too, without seqs
    assert [frame["seq"] for frame in got] == list(range(1, 2 * sent + 1))
    assert sorted(frame["message"] for frame in got) == sorted(f"{n}-{i}" for i in range(sent) for n in (0, 1))
    for n in (0, 1):  # each sender's messages in the order it sent them
        assert [f["message"] for f in got if f["message"].startswith(f"{n}-")] == [f"{n}-{i}" for i in range(sent)]

    # The watcher's server goes down; the other one goes on storing; the watcher comes back with its last seq.
    await watcher.close()
    await senders[0].close()
    first.stop()
    for i in range(5):
        await senders[1].send(json.dumps({"message": f"while down {i}"}))
    await read_messages(senders[1], 5)  # stored and sent by then
    first.start()
    watcher = await open_socket(first, room, since=got[-1]["seq"])
    missed, caught_up = await read_until_caught_up(watcher)
    assert [frame["message"] for frame in missed] == [f"while down {i}" for i in range(5)]
    assert [frame["seq"] for frame in missed] == list(range(2 * sent + 1, 2 * sent + 6)) and caught_up == 2 * sent + 5
    await senders[1].send(json.dumps({"message": "live again"}))
    assert await read_messages(watcher, 1) == [{"message": "live again", "user": "anonymous", "seq": caught_up + 1}]
    for socket in (watcher, senders[1]):
        await socket.close()
