"""Redis Sentinel failover under two running servers, with real Debian redis-server and redis-sentinel processes.

One walk through one set of processes (tests/support/sentinel.py: a master, a replica, three sentinels that
call a master down after 1 s): two uvicorn servers of a bake configured with REDIS_SENTINELS chat across each
other and get a notification from `manage.py notify`; then, while a client speaks in a room every
SPEAK_EVERY seconds and listeners on both servers hear it, the master is killed (SIGKILL). The sentinels promote
the replica; the servers, never restarted, find the new master through the sentinels; clients reopen their
sockets as the pages do. Chat and notifications must work again within RECOVERY_BOUND_SECONDS of the kill, and
then /readyz answers 200 on both servers and `manage.py check --deploy` reaches the new master.

The channel layer is at-most-once: a message sent to the room while no master answers is stored in the room's
history (the database) but reaches no live socket. The test counts those messages for a live-only listener
(no `?since=`) and checks that a listener reconnecting with `?since=<last seq>` (as the room page does) gets
every message the room stored. The measured failover time and the counts are printed (`pytest -s`) and
documented in the bake's docs/channel-layers.md.
"""

import asyncio
import json
import signal
import time
import urllib.request

import pytest
import websockets

from .support.bakes import bake_and_migrate, baked_env, run_in
from .support.processes import start_uvicorn, stop
from .support.sentinel import sentinel_set
from .test_scale_out import chat_across, next_json, token_for

pytestmark = pytest.mark.redis

RECOVERY_BOUND_SECONDS = 30  # chat and notifications work again within this long of the master's kill
SPEAK_EVERY = 0.1  # seconds between two messages of the speaker
REOPEN_PAUSE = 0.2  # seconds a client waits before reopening a closed socket
AFTER_RECOVERY = 10  # messages sent after recovery that every listener must hear
SETTLE_SECONDS = 3  # the speaker's last message gets this long to reach every listener
CREATE_USER = (
    "from django.contrib.auth import get_user_model; U = get_user_model(); "
    "U.objects.filter(username='sentry').exists() or U.objects.create_user('sentry', password='a long pw 42')"
)


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session, channel_layer="redis")


class Room:
    """Clients of one chat room that reopen their sockets when the server closes them, as the room page does,
    and record every numbered message they hear: {text: when}."""

    def __init__(self, room):
        self.room = room
        self.sent = {}  # text -> when the speaker's send() returned
        self.heard = {}  # listener name -> {text: when first heard}
        self.reopened = {}  # client name -> sockets opened

    async def listen(self, name, address, since=False):
        heard = self.heard.setdefault(name, {})
        last_seq = None
        while True:
            query = f"?since={'recent' if last_seq is None else last_seq}" if since else ""
            url = f"ws://{address}/ws/chat/{self.room}/{query}"
            try:
                async with websockets.connect(url, origin=f"http://{address}", open_timeout=2) as socket:
                    self.reopened[name] = self.reopened.get(name, 0) + 1
                    async for frame in socket:
                        data = json.loads(frame)
                        if data.get("message", "").startswith("m"):
                            heard.setdefault(data["message"], time.monotonic())
                        last_seq = data.get("seq", last_seq)
            except (OSError, TimeoutError, websockets.WebSocketException):
                pass
            await asyncio.sleep(REOPEN_PAUSE)

    async def speak(self, address, count):
        """Send m0, m1, ... every SPEAK_EVERY seconds while `count()` allows, reopening the socket as needed; the
        speaker hears the room too (listener "speaker")."""
        number = 0
        while number < count():
            try:
                async with websockets.connect(
                    f"ws://{address}/ws/chat/{self.room}/", origin=f"http://{address}", open_timeout=2
                ) as socket:
                    self.reopened["speaker"] = self.reopened.get("speaker", 0) + 1
                    reader = asyncio.ensure_future(self.read_own(socket))
                    try:
                        while number < count() and not reader.done():
                            text = f"m{number}"
                            await socket.send(json.dumps({"message": text}))
                            self.sent[text] = time.monotonic()
                            number += 1
                            await asyncio.sleep(SPEAK_EVERY)
                    finally:
                        reader.cancel()
            except (OSError, TimeoutError, websockets.WebSocketException):
                pass
            await asyncio.sleep(REOPEN_PAUSE)

    async def read_own(self, socket):
        heard = self.heard.setdefault("speaker", {})
        async for frame in socket:
            data = json.loads(frame)
            if data.get("message", "").startswith("m"):
                heard.setdefault(data["message"], time.monotonic())


async def retrying(what, attempt, deadline):
    """await attempt() until it succeeds or `deadline` (monotonic) passes; then fail naming `what`."""
    while True:
        try:
            return await attempt()
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not work again within {RECOVERY_BOUND_SECONDS} s of the failover: {error!r}")
        await asyncio.sleep(REOPEN_PAUSE)


def get_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_chat_and_notifications_come_back_after_a_sentinel_failover(project, tmp_path):
    with sentinel_set(tmp_path) as servers_of_redis:
        env = baked_env(**servers_of_redis.env())
        run_in(project, "python", "manage.py", "shell", "-c", CREATE_USER, env=env)
        servers = []
        try:
            servers = [start_uvicorn(project, env) for _ in range(2)]
            first, second = (address for _, address in servers)
            pids = [process.pid for process, _ in servers]

            def notify(text):
                run_in(project, "python", "manage.py", "notify", "--user", "sentry", text, env=env)

            async def notified_everywhere(token, text):
                """Open a notification socket on each server, run manage.py notify, return what each heard."""
                sockets = []
                try:
                    for address in (first, second):
                        sockets.append(
                            await websockets.connect(
                                f"ws://{address}/ws/notifications/?token={token}",
                                origin=f"http://{address}",
                                open_timeout=2,
                            )
                        )
                    await asyncio.to_thread(notify, text)
                    return [await next_json(socket, lambda frame: text in json.dumps(frame), 5) for socket in sockets]
                finally:
                    for socket in sockets:
                        await socket.close()

            async def walk():
                # Before: across the two servers, through the master the sentinels name.
                assert await chat_across([first, second], "lobby", "before") == ["before", "before"]
                token = token_for(first, "sentry", "a long pw 42")
                assert len(await notified_everywhere(token, "hello before")) == 2

                room = Room("failover")
                speaking = {"until": 10**9}
                tasks = [
                    asyncio.ensure_future(room.listen("live", second)),
                    asyncio.ensure_future(room.listen("catch-up", second, since=True)),
                    asyncio.ensure_future(room.speak(first, lambda: speaking["until"])),
                ]
                try:
                    # Traffic flows on both servers before the kill.
                    deadline = time.monotonic() + RECOVERY_BOUND_SECONDS
                    while len(room.heard.get("live", {})) < 5 and time.monotonic() < deadline:
                        await asyncio.sleep(0.05)
                    assert len(room.heard.get("live", {})) >= 5, f"no traffic before the kill: {room.heard}"

                    servers_of_redis.master[0].send_signal(signal.SIGKILL)
                    killed = time.monotonic()
                    deadline = killed + RECOVERY_BOUND_SECONDS

                    def recovered():
                        """When the live listener first heard a message sent after the kill (None: not yet)."""
                        live = room.heard.get("live", {})
                        return min(
                            (live[text] for text, when in room.sent.items() if when > killed and text in live),
                            default=None,
                        )

                    while recovered() is None and time.monotonic() < deadline:
                        await asyncio.sleep(0.05)
                    first_heard = recovered()
                    assert first_heard is not None, (
                        f"chat did not work again within {RECOVERY_BOUND_SECONDS} s of the kill: {room.reopened}"
                    )
                    # Every sentinel names the promoted replica (the others learn it from the leader within seconds).
                    promoted = {servers_of_redis.replica[1]}
                    while servers_of_redis.current_master() != promoted and time.monotonic() < deadline:
                        await asyncio.sleep(0.1)
                    assert servers_of_redis.current_master() == promoted
                    # AFTER_RECOVERY more messages, then silence, then the counts.
                    speaking["until"] = len(room.sent) + AFTER_RECOVERY
                    spoken = time.monotonic() + RECOVERY_BOUND_SECONDS
                    while len(room.sent) < speaking["until"] and time.monotonic() < spoken:
                        await asyncio.sleep(0.05)
                    assert len(room.sent) == speaking["until"], (
                        f"the speaker stalled after the failover: {room.reopened}"
                    )
                    await asyncio.sleep(SETTLE_SECONDS)
                finally:
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)

                # Notifications: a token made now (the cache finds the new master too), sockets on both servers.
                deadline = time.monotonic() + RECOVERY_BOUND_SECONDS
                token = await retrying(
                    "a socket token", lambda: asyncio.to_thread(token_for, second, "sentry", "a long pw 42"), deadline
                )
                heard = await retrying("a notification", lambda: notified_everywhere(token, "hello after"), deadline)
                return room, killed, first_heard, heard

            room, killed, first_heard, heard = asyncio.run(walk())
            assert len(heard) == 2
            ready = [get_status(f"http://{address}/readyz") for address in (first, second)]
            # The system check asks the sentinels for the (new) master and PINGs it: channel_layers.E001 would fail it.
            run_in(project, "python", "manage.py", "check", "--deploy", env=env)
            running = [
                process.poll() is None and process.pid == pid for (process, _), pid in zip(servers, pids, strict=True)
            ]
        finally:
            logs = [stop(process) for process, _ in servers]

    assert running == [True, True], logs  # never restarted
    assert ready == [200, 200], logs  # the readiness probe asks the sentinels too
    sent = list(room.sent)
    last = sent[-AFTER_RECOVERY:]
    for name, heard in room.heard.items():
        missing = [text for text in last if text not in heard]
        assert not missing, f"{name} missed {missing} sent after the failover"
    lost = {name: [text for text in sent if text not in heard] for name, heard in room.heard.items()}
    # A page reconnecting with ?since= gets what the room stored while its socket was closed: nothing the room
    # stored is lost to it (a message the server never read from a closing socket was never stored).
    assert len(lost["catch-up"]) <= len(lost["live"]), lost
    # No traceback storm: a socket closed for want of Redis is one line, and there are no more such lines than
    # sockets the clients opened.
    for log in logs:
        assert "Traceback" not in log, log
        assert log.count("Redis is unreachable") <= sum(room.reopened.values()), log
    print(
        f"\nfailover: chat heard again {first_heard - killed:.2f} s after the master's SIGKILL; "
        f"{len(sent)} messages sent; lost: {lost}; "
        f"sockets opened: {room.reopened}"
    )
