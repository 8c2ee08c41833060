"""1. echo: C connections x R round trips each (send, await the reply, repeat), spread over client processes.

Each run also reads what the server and the client processes spent on CPU during the round trips (cpu.py) and
the server's full collections (gc_pauses.py); the runs of every target are interleaved (A, B, C, A, B, C...).
"""

import asyncio
import json
import time

from . import clients, cpu
from .clients import CLIENT_PROCESSES, RECV_TIMEOUT
from .report import run_line, say, spread_line


async def echo_client(url, connections, messages, phase):
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
        await phase.begin()
        started = time.monotonic()
        await asyncio.gather(*(round_trips(ws) for ws in sockets))
        finished = time.monotonic()
        await phase.end()
    finally:
        await clients.close_sockets(sockets)
    return {"started": started, "finished": finished, "latencies": latencies, "wrong": wrong}


def measure_echo(server, path, connections, messages):
    """One run on server.url(path): msgs/s, p50/p99 (ms), and CPU (µs) per round trip of the server (its whole
    process tree) and of the client processes, with how busy each was (share of one core over the phase)."""
    url = server.url(path)
    args = [(url, share, messages) for share in clients.split(connections, CLIENT_PROCESSES)]
    servers_cpu = {"server": server.cpu_group()}
    results, spent = clients.run_measured_clients(echo_client, args, timeout=60, servers_cpu=servers_cpu)
    latencies = [latency for result in results for latency in result["latencies"]]
    wall = max(r["finished"] for r in results) - min(r["started"] for r in results)
    count = len(latencies)
    return {
        "msgs_per_s": count / wall,
        "p50_ms": clients.milliseconds(clients.percentile(latencies, 0.5)),
        "p99_ms": clients.milliseconds(clients.percentile(latencies, 0.99)),
        **cpu.per_unit(spent, count, CLIENT_PROCESSES),
        **server.gc_summary(spent),
        "round_trips": count,
        "wrong_replies": sum(r["wrong"] for r in results),
    }


def echo_benchmark(targets, sizes, repeats, deadline):
    """targets: {name: (Server, path)}. Runs are interleaved (each repeat runs every target) so load drifts hit
    all of them; returns {name: {"runs": [figures of each run]}}."""
    for server, path in targets.values():
        clients.warm_up(server.url(path))
    runs = {name: [] for name in targets}
    for repeat in range(repeats):
        for name, (server, path) in targets.items():
            deadline.check(f"echo {name}")
            result = measure_echo(server, path, sizes["connections"], sizes["messages"])
            runs[name].append(result)
            say(f"  echo {name:<22} run {repeat + 1}: " + run_line(result, "msgs_per_s", "msgs/s", "msg"))
    for name, results in runs.items():
        say(f"  echo {name:<22} " + spread_line(results, "msgs_per_s", "msgs/s", "msg"))
    return {name: {"runs": results} for name, results in runs.items()}
