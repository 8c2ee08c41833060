"""3. held connections: server RSS before and after opening H idle sockets to /ws/echo/, per socket."""

import asyncio
import time

from . import clients
from .clients import CLIENT_PROCESSES, MP


async def hold_client(url, count, barrier, release):
    sockets, errors = await clients.open_sockets(url, count)
    try:
        await clients.wait_barrier(barrier, timeout=300)
        await asyncio.to_thread(release.wait, 300)
    finally:
        await clients.close_sockets(sockets)
    return {"opened": len(sockets), "errors": errors[:3], "failed": len(errors)}


def measure_held(server, count):
    clients.warm_up(server.url("/ws/echo/"))
    time.sleep(1)
    before = server.rss_kb()
    barrier, release, results = MP.Barrier(CLIENT_PROCESSES + 1), MP.Event(), MP.Queue()
    args = [(server.url("/ws/echo/"), share, barrier, release) for share in clients.split(count, CLIENT_PROCESSES)]
    processes = [
        MP.Process(target=clients.in_client_process, args=(hold_client, a, results, barrier), daemon=True) for a in args
    ]
    for process in processes:
        process.start()
    try:
        clients.wait_for_clients(barrier, 300, processes, results)
        time.sleep(2)  # let the server settle
        after = server.rss_kb()
        release.set()
        outcomes = [results.get(timeout=120) for _ in processes]
    finally:
        clients.stop_clients(processes, release)
    clients.check_outcomes(outcomes, "holding")
    opened = sum(o["opened"] for o in outcomes)
    return {
        "rss_before_kb": before,
        "rss_after_kb": after,
        "opened": opened,
        "failed": sum(o["failed"] for o in outcomes),
        "errors": [e for o in outcomes for e in o["errors"]],
        "kb_per_connection": (after - before) / opened if opened else None,
    }
