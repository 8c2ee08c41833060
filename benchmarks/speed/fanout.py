"""2. fan-out: N listeners in one chat room, one sender sends M messages, each once the last was delivered."""

import asyncio
import json
import time

from websockets.asyncio.client import connect

from benchmarks.devloop import origin_of

from . import clients
from .clients import CLIENT_PROCESSES, MP
from .report import number, say

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


async def send_paced(url, listeners, sent, counts, max_wait):
    """Send `sent` chat messages; each waits until delivered to every listener (or a STALL without progress)."""
    async with connect(url, origin=origin_of(url), proxy=None, open_timeout=30, close_timeout=2) as ws:
        drain = asyncio.create_task(drain_socket(ws))  # the sender is in the room too
        started = last_delivery = time.monotonic()
        for k in range(sent):
            await ws.send(json.dumps({"message": f"{k} {time.monotonic()!r}"}))
            last_delivery = await wait_delivered(k, listeners, sent, counts, max_wait) or last_delivery
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


def measure_fanout(url, listeners, sent, listener_urls=None):
    """Send `sent` paced messages on `url` to `listeners` sockets in its room; listener process i holds its
    sockets on listener_urls[i] (default: all on `url`), so a room can span several servers."""
    listener_urls = listener_urls or [url] * CLIENT_PROCESSES
    counts = MP.Array("i", CLIENT_PROCESSES * sent, lock=False)  # deliveries of message k, per listener process
    opened = MP.Array("i", CLIENT_PROCESSES, lock=False)  # sockets each listener process got into the room
    barrier, done, results = MP.Barrier(CLIENT_PROCESSES + 1), MP.Event(), MP.Queue()
    shares = clients.split(listeners, CLIENT_PROCESSES)
    processes = [
        MP.Process(
            target=clients.in_client_process,
            args=(fanout_listener, (listener_urls[i], share, sent, i, counts, opened, barrier, done), results),
            daemon=True,
        )
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(180)  # every listener is connected, hence in the group
        elapsed = asyncio.run(send_paced(url, sum(opened), sent, counts, max_wait=30))
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
    }


def fanout_benchmark(servers, sizes, deadline):
    """servers: {layer: Server}. Project and tutorial chat, each N, each layer; a fresh room per run."""
    results = {}
    for layer, server in servers.items():
        for listeners in sizes["listeners"]:
            for consumer, path in [("project", "/ws/chat/{room}/"), ("tutorial", "/ws/tutorial-chat/{room}/")]:
                deadline.check(f"fan-out {consumer} {layer} {listeners}")
                room = f"bench_{consumer}_{listeners}"
                result = measure_fanout(server.url(path.format(room=room)), listeners, sizes["sent"])
                results[f"{consumer} {layer} N={listeners}"] = result
                say_fanout(f"{consumer:<8} {layer:<6} N={listeners:<5}", result)
    return results


def say_fanout(label, result):
    say(
        f"  fan-out {label} {result['deliveries_per_s']:8.0f} deliveries/s  p50 {number(result['p50_ms'], 1):>7} ms"
        f"  p99 {number(result['p99_ms'], 1):>7} ms  lost {result['lost']}/{result['expected']}"
        f" ({result['lost_on_sockets_that_failed_to_open']} on sockets that failed to open)"
        f"  in the room {result['listeners_opened']}"
    )
    for key in ("open_errors", "unexpected_frames", "listener_failures"):
        if result[key]:
            say(f"    {key.replace('_', ' ')}: {result[key]}")
