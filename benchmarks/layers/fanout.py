"""2. fan-out across the servers of a layer: benchmarks/speed's paced fan-out, one listener process per server."""

import asyncio

from benchmarks.speed import clients
from benchmarks.speed.clients import CLIENT_PROCESSES, MP
from benchmarks.speed.fanout import fanout_listener, say_fanout, send_paced

from .servers import SERVERS_PER_LAYER

assert CLIENT_PROCESSES == SERVERS_PER_LAYER, "one listener process per server"


def measure_fanout_across(urls, listeners, sent):
    """As benchmarks.speed.fanout.measure_fanout, but listener process i holds its sockets on urls[i]; the
    sender is on urls[0]."""
    counts = MP.Array("i", CLIENT_PROCESSES * sent, lock=False)  # deliveries of message k, per listener process
    opened = MP.Array("i", CLIENT_PROCESSES, lock=False)
    barrier, done, results = MP.Barrier(CLIENT_PROCESSES + 1), MP.Event(), MP.Queue()
    shares = clients.split(listeners, CLIENT_PROCESSES)
    processes = [
        MP.Process(
            target=clients.in_client_process,
            args=(fanout_listener, (urls[i], share, sent, i, counts, opened, barrier, done), results),
            daemon=True,
        )
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(180)
        elapsed = asyncio.run(send_paced(urls[0], sum(opened), sent, counts, max_wait=30))
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


def fanout_run(setup, listeners, sent):
    marks = setup.log_marks()
    result = measure_fanout_across(setup.urls(f"/ws/chat/fanout-{listeners}/"), listeners, sent)
    result.update(setup.problems_since(marks))
    say_fanout(f"{setup.name:<7} N={listeners:<5}", result)
    return result
