"""1. churn: sockets that open in a random room on a random server, speak, hear themselves and close, while
steady sockets in every room count what reaches them."""

import asyncio
import collections
import json
import random
import time

from websockets.asyncio.client import connect

from benchmarks.devloop import origin_of
from benchmarks.speed import clients
from benchmarks.speed.report import say

from .servers import SERVERS_PER_LAYER

ECHO_TIMEOUT = 5  # seconds a client waits for its own message to come back
SETTLE = 3  # seconds the steady sockets keep listening after the last client closed
PATH = "/ws/chat/{room}/"


def room_url(url, room):
    return url + PATH.format(room=room)


async def open_socket(url):
    return await connect(url, origin=origin_of(url), proxy=None, open_timeout=10, close_timeout=2)


def parse(text):
    """(tag, room) of a chat frame {"message": "<tag> <room>", ...}, or None."""
    message = json.loads(text).get("message")
    parts = message.split() if isinstance(message, str) else []
    return tuple(parts) if len(parts) == 2 else None


async def churn_process(urls, index, sizes, barrier, seed):
    """What client process `index` runs: steady sockets on urls[index], churning clients on every server."""
    rng = random.Random(seed * 100 + index)
    rooms = [f"churn{r}" for r in range(sizes["rooms"])]
    steady = [(room, await open_socket(room_url(urls[index], room))) for room in rooms for _ in range(sizes["steady"])]
    received = [collections.Counter() for _ in steady]
    counts, errors = collections.Counter(), collections.Counter()
    confirmed = []  # (tag, room) of every message that came back to its sender: the group got it

    async def listen(i, room, ws):
        try:
            async for text in ws:
                frame = parse(text)
                if frame is None or frame[1] != room:
                    counts["wrong_room_frames"] += 1
                else:
                    received[i][frame[0]] += 1
        except Exception as error:  # noqa: BLE001 (any end of a steady socket is a figure)
            errors[f"steady socket: {type(error).__name__}: {error}"[:160]] += 1
        else:
            counts["steady_closed_by_server"] += 1

    async def session(tag, room, url):
        async with await open_socket(room_url(url, room)) as ws:
            await ws.send(json.dumps({"message": f"{tag} {room}"}))
            give_up = time.monotonic() + ECHO_TIMEOUT
            while (left := give_up - time.monotonic()) > 0:
                try:
                    frame = parse(await asyncio.wait_for(ws.recv(), left))
                except TimeoutError:
                    break
                if frame is None or frame[1] != room:
                    counts["wrong_room_frames"] += 1
                elif frame[0] == tag:
                    confirmed.append((tag, room))
                    return
            counts["own_message_never_came_back"] += 1

    async def churner(c, deadline):
        n = 0
        while time.monotonic() < deadline and n < sizes["sessions_per_client"]:
            tag, n = f"p{index}c{c}s{n}", n + 1
            try:
                await session(tag, rng.choice(rooms), rng.choice(urls))
                counts["sessions"] += 1
            except Exception as error:  # noqa: BLE001 (counted; the client goes on, as a page would)
                errors[f"{type(error).__name__}: {error}"[:160]] += 1
                await asyncio.sleep(0.2)

    listeners = [asyncio.create_task(listen(i, room, ws)) for i, (room, ws) in enumerate(steady)]
    await clients.wait_barrier(barrier)
    started = time.monotonic()
    deadline = started + sizes["churn_seconds"]
    await asyncio.gather(*(churner(c, deadline) for c in range(sizes["churners"])))
    churned = time.monotonic() - started
    await asyncio.sleep(SETTLE)
    await clients.close_sockets([ws for _, ws in steady])
    await asyncio.gather(*listeners, return_exceptions=True)
    return {
        "confirmed": confirmed,
        "steady": [(room, dict(counter)) for (room, _), counter in zip(steady, received, strict=True)],
        "counts": dict(counts),
        "errors": dict(errors),
        "seconds": churned,
    }


def churn_run(setup, sizes, seed=1):
    marks = setup.log_marks()
    barrier = clients.MP.Barrier(SERVERS_PER_LAYER)
    urls = setup.urls("")
    args = [(urls, index, sizes, barrier, seed) for index in range(SERVERS_PER_LAYER)]
    outcomes = clients.run_clients(churn_process, args, timeout=sizes["churn_seconds"] + 120)
    time.sleep(1)  # the servers' last group_discard calls
    result = churn_figures(outcomes)
    result["group_members_left_in_redis"] = setup.group_members_in_redis()
    result["server_rss_kb"] = setup.rss_kb()
    result.update(setup.problems_since(marks))
    say_churn(setup.name, result)
    return result


def churn_figures(outcomes):
    by_room = collections.defaultdict(set)
    for outcome in outcomes:
        for tag, room in outcome["confirmed"]:
            by_room[room].add(tag)
    expected = lost = duplicates = 0
    for outcome in outcomes:
        for room, got in outcome["steady"]:
            expected += len(by_room[room])
            lost += len(by_room[room] - got.keys())
            duplicates += sum(count - 1 for count in got.values())
    counts, errors = collections.Counter(), collections.Counter()
    for outcome in outcomes:
        counts.update(outcome["counts"])
        errors.update(outcome["errors"])
    seconds = max(outcome["seconds"] for outcome in outcomes)
    return {
        "sessions": counts["sessions"],
        "sessions_per_s": counts["sessions"] / seconds,
        "messages_confirmed": sum(len(tags) for tags in by_room.values()),
        "own_message_never_came_back": counts["own_message_never_came_back"],
        "steady_expected": expected,
        "steady_lost": lost,
        "steady_duplicates": duplicates,
        "wrong_room_frames": counts["wrong_room_frames"],
        "steady_closed_by_server": counts["steady_closed_by_server"],
        "client_errors": sum(errors.values()),
        "client_error_kinds": dict(errors.most_common(5)),
    }


def say_churn(name, r):
    say(
        f"  churn {name:<7} {r['sessions']} sessions ({r['sessions_per_s']:.0f}/s), {r['messages_confirmed']}"
        f" messages: steady sockets lost {r['steady_lost']}/{r['steady_expected']}, never came back"
        f" {r['own_message_never_came_back']}, wrong room {r['wrong_room_frames']}, client errors"
        f" {r['client_errors']}, group members left {r['group_members_left_in_redis']}, tracebacks"
        f" {r['tracebacks']}"
    )
    for key in ("client_error_kinds", "exception_lines"):
        if r[key]:
            say(f"    {key.replace('_', ' ')}: {r[key]}")
