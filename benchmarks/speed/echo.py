"""1. echo: C connections x R round trips each (send, await the reply, repeat), spread over client processes."""

import asyncio
import json
import statistics
import time

from . import clients
from .clients import CLIENT_PROCESSES, MP, RECV_TIMEOUT
from .report import say


async def echo_client(url, connections, messages, barrier):
    sockets, errors = await clients.open_sockets(url, connections)
    if errors:
        await clients.close_sockets(sockets)
        raise RuntimeError(f"{len(errors)} sockets failed to open, e.g. {errors[0]}")
    latencies, wrong = [], 0

    async def round_trips(ws):
        nonlocal wrong
        for n in range(messages):
            payload = json.dumps({"n": n, "text": "hello"})
            started = time.monotonic()
            await ws.send(payload)
            reply = await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
            latencies.append(time.monotonic() - started)
            wrong += reply != payload

    try:
        await clients.wait_barrier(barrier)
        started = time.monotonic()
        await asyncio.gather(*(round_trips(ws) for ws in sockets))
        finished = time.monotonic()
    finally:
        await clients.close_sockets(sockets)
    return {"started": started, "finished": finished, "latencies": latencies, "wrong": wrong}


def measure_echo(url, connections, messages):
    barrier = MP.Barrier(CLIENT_PROCESSES)
    args = [(url, share, messages, barrier) for share in clients.split(connections, CLIENT_PROCESSES)]
    results = clients.run_clients(echo_client, args, timeout=300)
    latencies = [latency for result in results for latency in result["latencies"]]
    wall = max(r["finished"] for r in results) - min(r["started"] for r in results)
    return {
        "msgs_per_s": len(latencies) / wall,
        "p50_ms": clients.milliseconds(clients.percentile(latencies, 0.5)),
        "p99_ms": clients.milliseconds(clients.percentile(latencies, 0.99)),
        "round_trips": len(latencies),
        "wrong_replies": sum(r["wrong"] for r in results),
    }


def echo_benchmark(targets, sizes, repeats, deadline):
    """targets: {name: url}. Runs are interleaved (each repeat runs every target) so load drifts hit all."""
    for url in targets.values():
        clients.warm_up(url)
    runs = {name: [] for name in targets}
    for repeat in range(repeats):
        for name, url in targets.items():
            deadline.check(f"echo {name}")
            result = measure_echo(url, sizes["connections"], sizes["messages"])
            runs[name].append(result)
            say(
                f"  echo {name:<22} run {repeat + 1}: {result['msgs_per_s']:8.0f} msgs/s  p50 {result['p50_ms']:6.2f}"
                f" ms  p99 {result['p99_ms']:6.2f} ms  ({result['round_trips']} round trips,"
                f" {result['wrong_replies']} wrong)"
            )
    return {name: {**median_of(results), "runs": results} for name, results in runs.items()}


def median_of(results):
    return {key: statistics.median(r[key] for r in results) for key in ("msgs_per_s", "p50_ms", "p99_ms")}
