"""3. Redis restart: the layer's redis-server stops and starts again on its port while a room is busy."""

import asyncio
import collections
import json
import time

from websockets.asyncio.client import connect

from benchmarks.devloop import origin_of
from benchmarks.speed.report import number, say

REOPEN = 0.2  # seconds before a client reopens a closed socket (pages back off from 0.5 s)
ROOM = "/ws/chat/restart/"


class Reopening:
    """A socket that a client reopens REOPEN s after it closed, until stopped. `ws`: the open one, or None."""

    def __init__(self, url, on_frame):
        self.url, self.on_frame = url, on_frame
        self.ws = None
        self.opens, self.closes, self.open_errors = 0, collections.Counter(), collections.Counter()

    async def run(self, stopping):
        while not stopping.is_set():
            try:
                ws = await connect(self.url, origin=origin_of(self.url), proxy=None, open_timeout=5, close_timeout=1)
            except Exception as error:  # noqa: BLE001 (refused handshakes while Redis is away are the figure)
                self.open_errors[type(error).__name__] += 1
            else:
                self.ws, self.opens = ws, self.opens + 1
                try:
                    async for text in ws:
                        self.on_frame(text)
                except Exception:  # noqa: BLE001,S110 (the close code says why)
                    pass
                finally:
                    self.ws = None
                    if not stopping.is_set():
                        self.closes[ws.close_code] += 1
                    await ws.close()
            await asyncio.sleep(REOPEN)


async def scenario(setup, sizes):
    listeners_count, tick = sizes["restart_listeners"], sizes["restart_tick"]
    delivered = collections.defaultdict(set)  # message k -> listeners it reached

    def listener_frames(index):
        def on_frame(text):
            message = json.loads(text).get("message")
            if isinstance(message, str) and message.startswith("r"):
                delivered[int(message[1:])].add(index)

        return on_frame

    urls = setup.urls(ROOM)
    stopping = asyncio.Event()
    listeners = [Reopening(urls[i % len(urls)], listener_frames(i)) for i in range(listeners_count)]
    sender = Reopening(urls[0], lambda text: None)
    tasks = [asyncio.create_task(socket.run(stopping)) for socket in [*listeners, sender]]
    give_up = time.monotonic() + 30
    while (sender.ws is None or any(s.ws is None for s in listeners)) and time.monotonic() < give_up:
        await asyncio.sleep(0.05)

    sent, unsent = [], []  # (k, when)
    start = time.monotonic()
    events = {"stop": start + sizes["restart_before"]}
    events["start"] = events["stop"] + sizes["restart_down"]
    end = events["start"] + sizes["restart_after"]
    redis_task, times = None, {}

    async def stop_and_start():
        await asyncio.sleep(events["stop"] - time.monotonic())
        times["stopped"] = time.monotonic()
        await asyncio.to_thread(setup.redis.stop)
        await asyncio.sleep(events["start"] - time.monotonic())
        await asyncio.to_thread(setup.redis.start)
        times["answering"] = time.monotonic()

    redis_task = asyncio.create_task(stop_and_start())
    k = 0
    while (now := time.monotonic()) < end:
        ws = sender.ws
        try:
            if ws is None:
                raise ConnectionError
            await ws.send(json.dumps({"message": f"r{k}"}))
            sent.append((k, now))
        except Exception:  # noqa: BLE001 (a closed sender socket: this message is not sent)
            unsent.append((k, now))
        k += 1
        await asyncio.sleep(max(0.0, start + k * tick - time.monotonic()))
    await redis_task
    await asyncio.sleep(sizes["restart_settle"])
    open_at_end = sum(s.ws is not None for s in listeners)
    stopping.set()
    for socket in [*listeners, sender]:
        if socket.ws is not None:
            await socket.ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return restart_figures(listeners, sender, sent, unsent, delivered, times, open_at_end)


def restart_figures(listeners, sender, sent, unsent, delivered, times, open_at_end):
    everyone = len(listeners)
    stopped, answering = times["stopped"], times["answering"]

    def lost(messages):
        return sum(everyone - len(delivered[k]) for k, _ in messages)

    before = [(k, t) for k, t in sent if t < stopped]
    outage = [(k, t) for k, t in sent if stopped <= t < answering]
    after = [(k, t) for k, t in sent if t >= answering]
    recovered_at = None
    for k, t in reversed(after):  # the earliest message from which on every one reached every listener
        if len(delivered[k]) < everyone:
            break
        recovered_at = t
    first_after = next((t for k, t in after if delivered[k]), None)
    closes = collections.Counter()
    for socket in listeners:
        closes.update(socket.closes)
    return {
        "recovered": recovered_at is not None,
        "recovery_s": None if recovered_at is None else recovered_at - answering,
        "first_delivery_after_restart_s": None if first_after is None else first_after - answering,
        "redis_down_s": answering - stopped,
        "lost_before_stop": lost(before),
        "lost_while_down": lost(outage),
        "lost_after_restart": lost(after),
        "messages_sent": {"before": len(before), "while down": len(outage), "after": len(after)},
        "messages_unsent_sender_closed": len(unsent),
        "listener_sockets_closed_by_server": sum(closes.values()),
        "listener_close_codes": {str(code): n for code, n in closes.items()},
        "sender_sockets_closed_by_server": sum(sender.closes.values()),
        "failed_opens": sum(sum(s.open_errors.values()) for s in [*listeners, sender]),
        "listeners_open_at_end": open_at_end,
        "listeners": everyone,
    }


def restart_run(setup, sizes):
    marks = setup.log_marks()
    result = asyncio.run(scenario(setup, sizes))
    result.update(setup.problems_since(marks))
    say_restart(setup.name, result)
    return result


def say_restart(name, r):
    recovery = f"recovered {number(r['recovery_s'], 2)} s after Redis answered" if r["recovered"] else "NO RECOVERY"
    say(
        f"  restart {name:<7} {recovery} (first delivery {number(r['first_delivery_after_restart_s'], 2)} s);"
        f" lost before stop {r['lost_before_stop']}, while down {r['lost_while_down']}, after restart"
        f" {r['lost_after_restart']}; sent {r['messages_sent']}, unsent {r['messages_unsent_sender_closed']};"
        f" listener sockets closed {r['listener_sockets_closed_by_server']} {r['listener_close_codes']}, open at"
        f" end {r['listeners_open_at_end']}/{r['listeners']}; tracebacks {r['tracebacks']}, servers running"
        f" {r['servers_running']}"
    )
    if r["exception_lines"]:
        say(f"    exception lines: {r['exception_lines']}")
