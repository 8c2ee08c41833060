"""Scale-out on Redis, proven with real processes: sockets on different server processes share chat rooms.

`cluster` starts N uvicorn processes on one set of Redis URLs; checks that need more processes (a
runworker, a management command that sends to sockets) start them beside it with `spawn`.
"""

import asyncio
import json
import urllib.request

import pytest
import redis
import websockets

from .support.bakes import bake_and_migrate, baked_env, run_in
from .support.processes import read_until, spawn, start_redis, start_uvicorn, stop

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session, channel_layer="redis")


@pytest.fixture
def cluster(project):
    """`cluster(redis_urls, servers=2)` -> addresses of that many uvicorn processes sharing those Redis URLs."""
    started = []

    def start(redis_urls, servers=2):
        env = baked_env(REDIS_URL=",".join(redis_urls))
        for _ in range(servers):
            started.append(start_uvicorn(project, env))
        return [address for _, address in started[-servers:]]

    yield start
    for process, _ in started:
        stop(process)


async def chat_across(addresses, room, text):
    """One client per server in `room`; the first speaks; returns what each one heard."""
    clients = [
        await websockets.connect(f"ws://{address}/ws/chat/{room}/", origin=f"http://{address}") for address in addresses
    ]
    try:
        await clients[0].send(json.dumps({"message": text}))
        return [json.loads(await asyncio.wait_for(client.recv(), 5))["message"] for client in clients]
    finally:
        for client in clients:
            await client.close()


def test_a_chat_message_reaches_clients_on_another_server_process(cluster, redis_url):
    first, second = cluster([redis_url])
    assert asyncio.run(chat_across([first, second], "lobby", "across")) == ["across", "across"]
    assert asyncio.run(chat_across([second, first], "lobby", "and back")) == ["and back", "and back"]


def test_several_redis_urls_shard_rooms_across_both_servers(cluster, tmp_path):
    shards = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shards.append(start_redis(tmp_path / name))
    try:
        first, second = cluster([url for _, url in shards])
        rooms = [f"room-{number}" for number in range(12)]

        async def every_room():
            clients = {
                room: [
                    await websockets.connect(f"ws://{address}/ws/chat/{room}/", origin=f"http://{address}")
                    for address in (first, second)
                ]
                for room in rooms
            }
            # While the sockets are open, each room's group lives on exactly one shard, and both shards hold some.
            held = [redis.Redis.from_url(url).keys("*:group:*") for _, url in shards]
            for room, (speaker, listener) in clients.items():
                await speaker.send(json.dumps({"message": room}))
                assert json.loads(await asyncio.wait_for(listener.recv(), 5))["message"] == room
                assert json.loads(await asyncio.wait_for(speaker.recv(), 5))["message"] == room
            for pair in clients.values():
                for client in pair:
                    await client.close()
            return held

        held = asyncio.run(every_room())
        assert all(held), f"one shard holds no room: {held}"
        assert sum(map(len, held)) == len(rooms)
    finally:
        for process, _ in shards:
            stop(process)


def test_two_projects_on_one_redis_never_share_a_room_or_a_user(project, cookies_session, redis_url):
    """Two bakes on one Redis (each with its own secret key, so its own CHANNEL_LAYER_PREFIX): a chat message,
    and `manage.py notify` for user id 4242, reach only their own project's sockets, in the same room and for the
    same user id in both."""
    other = bake_and_migrate(cookies_session, channel_layer="redis")
    env = baked_env(REDIS_URL=redis_url)
    for bake in (project, other):
        run_in(bake, "python", "manage.py", "shell", "-c", CREATE_ALICE, env=env)
    servers = [start_uvicorn(bake, env) for bake in (project, other)]
    try:
        here, there = (address for _, address in servers)

        async def scenario():
            rooms = [await chat_socket(address, "lobby") for address in (here, there)]
            tokens = [token_for(address, "alice", "a long pw 42") for address in (here, there)]
            inboxes = [
                await websockets.connect(f"ws://{address}/ws/notifications/?token={token}", origin=f"http://{address}")
                for address, token in zip((here, there), tokens, strict=True)
            ]
            await rooms[0].send(json.dumps({"message": "only here"}))
            run_in(project, "python", "manage.py", "notify", "--user", "alice", "for this alice only", env=env)
            heard = [
                json.loads(await asyncio.wait_for(rooms[0].recv(), 5))["message"],
                await next_json(inboxes[0], lambda frame: "for this alice only" in json.dumps(frame)),
            ]
            leaked = []
            for socket in (rooms[1], inboxes[1]):
                try:
                    leaked.append(await asyncio.wait_for(socket.recv(), 1))
                except TimeoutError:
                    pass
            for socket in (*rooms, *inboxes):
                await socket.close()
            return heard, leaked

        heard, leaked = asyncio.run(scenario())
        assert heard[0] == "only here" and heard[1]
        assert leaked == [], f"the other project's sockets heard {leaked}"
        prefixes = {key.split(b":")[0] for key in redis.Redis.from_url(redis_url).keys("*")}
        assert b"asgi" not in prefixes, prefixes  # channels-redis's default, shared by every project
    finally:
        for process, _ in servers:
            stop(process)


CREATE_ALICE = (
    "from django.contrib.auth import get_user_model; U = get_user_model(); "
    "U.objects.filter(username='alice').exists() or U.objects.create_user('alice', password='a long pw 42', id=4242)"
)


def chat_socket(address, room):
    return websockets.connect(f"ws://{address}/ws/chat/{room}/", origin=f"http://{address}")


def token_for(address, username, password, path="/ws/"):
    """A socket token from POST /api/ws-token/ for the sockets under `path`."""
    body = json.dumps({"username": username, "password": password, "path": path}).encode()
    request = urllib.request.Request(
        f"http://{address}/api/ws-token/", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["token"]


async def next_json(socket, condition, timeout=10):
    """The first frame from `socket` that satisfies `condition` (frames before it are skipped)."""
    async with asyncio.timeout(timeout):
        while not condition(frame := json.loads(await socket.recv())):
            pass
    return frame


def test_notify_and_task_progress_reach_sockets_on_every_server_process(project, cluster, redis_url):
    env = baked_env(REDIS_URL=redis_url)
    create = (
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        "U.objects.filter(username='scaler').exists() or U.objects.create_user('scaler', password='a long pw 42')"
    )
    run_in(project, "python", "manage.py", "shell", "-c", create, env=env)
    first, second = cluster([redis_url])
    worker = spawn(project, "python", "manage.py", "runworker", "tasks", env=env)
    try:
        read_until(worker, "Running worker for channels")
        token = token_for(first, "scaler", "a long pw 42")

        async def scenario():
            def open_socket(address, path):
                return websockets.connect(f"ws://{address}{path}?token={token}", origin=f"http://{address}")

            notified = [await open_socket(address, "/ws/notifications/") for address in (first, second)]
            # manage.py notify is a third process: through Redis it reaches the sockets of both servers.
            run_in(project, "python", "manage.py", "notify", "--user", "scaler", "hello both", env=env)
            heard = [await next_json(socket, lambda frame: "hello both" in json.dumps(frame)) for socket in notified]

            # A task started on the first server runs in the worker and reports to the page on the second.
            starter, watcher = await open_socket(first, "/ws/tasks/"), await open_socket(second, "/ws/tasks/")
            await starter.send(json.dumps({"start": {"steps": 2}}))
            queued = await next_json(starter, lambda frame: frame.get("status") == "queued")
            done = await next_json(watcher, lambda frame: frame.get("status") == "done")
            for socket in [*notified, starter, watcher]:
                await socket.close()
            return heard, queued, done

        heard, queued, done = asyncio.run(scenario())
        assert len(heard) == 2
        assert done["task"] == queued["task"] and done["step"] == 2
    finally:
        output = stop(worker)
    assert "Traceback" not in output, output
