"""2. fan-out: N listeners in one chat room, one sender sends M messages, each once the last was delivered.

Each run also reads the CPU that the server (and its redis-server, on Redis) and the clients (listener
processes and the sender, this process) spent from the first send to the last delivery (cpu.py), and the
server's full collections in that time (gc_pauses.py). Runs are interleaved: each repeat runs every layer,
size and consumer once, in a fresh room.
"""

import asyncio
import json
import os
import time

from websockets.asyncio.client import connect

from benchmarks.devloop import origin_of

from . import clients, cpu
from .clients import CLIENT_PROCESSES, MP
from .report import number, run_line, say, spread_line

STALL = 1.0  # a message counts as fully delivered (or lost) after this long without a delivery


async def fanout_listener(url, listeners, sent, process_index, counts, opened, barrier, done):
    """Hold `listeners` sockets in the room; count deliveries of each message k in counts[process_index, k]."""
    sockets, errors = await clients.open_sockets(url, listeners, concurrency=50)
    opened[process_index] = len(sockets)
    latencies, unexpected = [], []
    offset = process_index * sent

    async def listen(ws):
        received = 0
        while received < sent:
            try:
                text = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                if done.is_set():
                    return
                continue
            arrived = time.monotonic()
            message = json.loads(text).get("message")
            if not isinstance(message, str):
                unexpected.append(text[:200])
                continue
            k, sent_at = message.split()
            latencies.append(arrived - float(sent_at))
            counts[offset + int(k)] += 1
            received += 1

    try:
        await clients.wait_barrier(barrier)
        ended = await asyncio.gather(*(listen(ws) for ws in sockets), return_exceptions=True)
    finally:
        await clients.close_sockets(sockets)
    failures = [f"{type(e).__name__}: {e}" for e in ended if isinstance(e, BaseException)]
    return {
        "latencies": latencies,
        "opened": len(sockets),
        "open_errors": errors[:3],
        "unexpected": unexpected[:3],
        "listener_failures": failures[:3],
        "listeners_failed": len(failures),
    }


async def send_paced(url, listeners, sent, counts, max_wait, meter=None):
    """Send `sent` chat messages; each waits until delivered to every listener (or a STALL without progress).
    `meter` (a cpu.Meter) runs from the first send to the last delivery: the sender's own connection opening and
    closing stay out of it."""
    async with connect(url, origin=origin_of(url), proxy=None, open_timeout=30, close_timeout=2) as ws:
        drain = asyncio.create_task(drain_socket(ws))  # the sender is in the room too
        if meter:
            meter.start()
        started = last_delivery = time.monotonic()
        for k in range(sent):
            await ws.send(json.dumps({"message": f"{k} {time.monotonic()!r}"}))
            last_delivery = await wait_delivered(k, listeners, sent, counts, max_wait) or last_delivery
        if meter:
            meter.stop()
        drain.cancel()
    return last_delivery - started


async def drain_socket(ws):
    async for _ in ws:
        pass


async def wait_delivered(k, listeners, sent, counts, max_wait):
    """Poll the shared counters of message k; return the time its last delivery was seen."""
    seen, seen_at, give_up = 0, None, time.monotonic() + max_wait
    progress_at = time.monotonic()
    while time.monotonic() < give_up:
        total = sum(counts[p * sent + k] for p in range(CLIENT_PROCESSES))
        if total > seen:
            seen, seen_at = total, time.monotonic()
            progress_at = seen_at
        if seen >= listeners or time.monotonic() - progress_at > STALL:
            break
        await asyncio.sleep(0.001)
    return seen_at


def measure_fanout(url, listeners, sent, listener_urls=None, meter=None):
    """Send `sent` paced messages on `url` to `listeners` sockets in its room; listener process i holds its
    sockets on listener_urls[i] (default: all on `url`), so a room can span several servers. `meter`: a function
    of the client pids (the listener processes and this one, the sender) that returns a cpu.Meter to run from
    the first send to the last delivery; its result is under "spent"."""
    listener_urls = listener_urls or [url] * CLIENT_PROCESSES
    counts = MP.Array("i", CLIENT_PROCESSES * sent, lock=False)  # deliveries of message k, per listener process
    opened = MP.Array("i", CLIENT_PROCESSES, lock=False)  # sockets each listener process got into the room
    barrier, done, results = MP.Barrier(CLIENT_PROCESSES + 1), MP.Event(), MP.Queue()
    shares = clients.split(listeners, CLIENT_PROCESSES)
    processes = [
        MP.Process(
            target=clients.in_client_process,
            args=(fanout_listener, (listener_urls[i], share, sent, i, counts, opened, barrier, done), results, barrier),
            daemon=True,
        )
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    meter = meter([p.pid for p in processes] + [os.getpid()]) if meter else None
    try:
        clients.wait_for_clients(barrier, 180, processes, results)  # every listener is connected, hence in the group
        elapsed = clients.run(send_paced(url, sum(opened), sent, counts, max_wait=30, meter=meter))
        done.set()
        outcomes = [results.get(timeout=60) for _ in processes]
    finally:
        clients.stop_clients(processes, done)
    clients.check_outcomes(outcomes, "listener")
    latencies = [latency for o in outcomes for latency in o["latencies"]]
    return {
        "deliveries_per_s": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": clients.milliseconds(clients.percentile(latencies, 0.5)),
        "p99_ms": clients.milliseconds(clients.percentile(latencies, 0.99)),
        "delivered": len(latencies),
        "expected": listeners * sent,
        "lost": listeners * sent - len(latencies),
        "lost_on_sockets_that_failed_to_open": (listeners - sum(opened)) * sent,
        "listeners_opened": sum(opened),
        "open_errors": [e for o in outcomes for e in o["open_errors"]],
        "unexpected_frames": [u for o in outcomes for u in o["unexpected"]],
        "listeners_failed": sum(o["listeners_failed"] for o in outcomes),
        "listener_failures": [f for o in outcomes for f in o["listener_failures"]],
        "seconds": elapsed,
        **({"spent": meter.result()} if meter else {}),
    }


def measure_server_fanout(server, path, listeners, sent, redis=None):
    """measure_fanout on server.url(path), with CPU per delivery of the server (its process tree), of its
    redis-server (`redis`, if any) and of the clients, and the server's full collections."""

    def meter(client_pids):
        groups = {"server": server.cpu_group(), "client": (client_pids, False)}
        return cpu.Meter({**groups, "redis": redis.cpu_group()} if redis else groups)

    result = measure_fanout(server.url(path), listeners, sent, meter=meter)
    spent, delivered = result.pop("spent"), result["delivered"]
    return {
        **result,
        # the client: the listener processes and the sender, CLIENT_PROCESSES + 1 processes
        **cpu.per_unit(spent, delivered, CLIENT_PROCESSES + 1),
        "redis_cpu_us": 1e6 * spent["redis"]["cpu_s"] / delivered if redis and delivered else None,
        **server.gc_summary(spent),
    }


CONSUMERS = {"project": "/ws/chat/{room}/", "tutorial": "/ws/tutorial-chat/{room}/"}


def fanout_benchmark(layers, sizes, repeats, deadline):
    """layers: {layer: (Server, its redis-server or None)}. Every repeat runs each layer, size (sizes["sent"]:
    {listeners: messages sent}) and consumer once, in a fresh room; returns {"<consumer> <layer> N=<n>":
    {"runs": [figures of each run]}}."""
    runs = {}
    for repeat in range(repeats):
        for layer, (server, redis) in layers.items():
            for listeners, sent in sizes["sent"].items():
                for consumer, path in CONSUMERS.items():
                    key = f"{consumer} {layer} N={listeners}"
                    deadline.check(f"fan-out {key}")
                    room = f"bench_{consumer}_{listeners}_{repeat}"
                    result = measure_server_fanout(server, path.format(room=room), listeners, sent, redis)
                    runs.setdefault(key, []).append(result)
                    say_fanout(f"{key:<24} run {repeat + 1}:", result)
    for key, results in runs.items():
        say(f"  fan-out {key:<24} " + spread_line(results, "deliveries_per_s", "deliveries/s", "delivery"))
    return {key: {"runs": results} for key, results in runs.items()}


def say_fanout(label, result):
    """One run's line: with CPU and GC figures if measured (measure_server_fanout), else rate and latency."""
    if "server_cpu_us" in result:
        figures = run_line(result, "deliveries_per_s", "deliveries/s", "delivery")
        if result["redis_cpu_us"] is not None:
            figures += f"  redis-server {result['redis_cpu_us']:.1f} µs/delivery"
    else:
        figures = (
            f"{result['deliveries_per_s']:8.0f} deliveries/s  p50 {number(result['p50_ms'], 1):>7} ms"
            f"  p99 {number(result['p99_ms'], 1):>7} ms"
        )
    say(
        f"  fan-out {label} {figures}  lost {result['lost']}/{result['expected']}"
        f" ({result['lost_on_sockets_that_failed_to_open']} on sockets that failed to open)"
        f"  in the room {result['listeners_opened']}"
    )
    for key in ("open_errors", "unexpected_frames", "listener_failures"):
        if result[key]:
            say(f"    {key.replace('_', ' ')}: {result[key]}")
