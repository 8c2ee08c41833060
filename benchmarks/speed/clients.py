"""Client processes that load a server: each runs an asyncio coroutine with its share of the sockets."""

import asyncio
import multiprocessing

from websockets.asyncio.client import connect
from websockets.sync.client import connect as sync_connect

from benchmarks.devloop import origin_of

CLIENT_PROCESSES = 2
RECV_TIMEOUT = 10  # seconds for any one reply
MP = multiprocessing.get_context("spawn")  # children start clean, whatever the parent holds


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def milliseconds(seconds):
    return None if seconds is None else 1000 * seconds


def split(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_clients(target, args_list, timeout):
    """Run target(*args) in one process per args; return their results (exceptions are re-raised here)."""
    results = MP.Queue()
    processes = [MP.Process(target=in_client_process, args=(target, args, results)) for args in args_list]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=timeout) for _ in processes]
    finally:
        stop_clients(processes)
    check_outcomes(outcomes, "client")
    return outcomes


def in_client_process(target, args, results):
    """What a client process runs: target(*args), its result or error put on `results`."""
    try:
        results.put(asyncio.run(target(*args)))
    except BaseException as error:  # reported by the parent
        results.put(f"{type(error).__name__}: {error}")


async def open_sockets(url, count, concurrency=100):
    gate = asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            return await connect(url, origin=origin_of(url), proxy=None, open_timeout=30, close_timeout=2)

    opened = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    sockets = [ws for ws in opened if not isinstance(ws, BaseException)]
    errors = [f"{type(e).__name__}: {e}" for e in opened if isinstance(e, BaseException)]
    return sockets, errors


async def close_sockets(sockets):
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def wait_barrier(barrier, timeout=120):
    await asyncio.to_thread(barrier.wait, timeout)


def stop_clients(processes, event=None):
    """Set the event the client processes wait on (if any), then join them (terminating any that hang)."""
    if event is not None:
        event.set()
    for process in processes:
        process.join(timeout=15)
        if process.is_alive():
            process.terminate()
            process.join(timeout=10)


def check_outcomes(outcomes, what):
    """A client process reports an error as a string: stop the benchmark with it."""
    failed = [o for o in outcomes if isinstance(o, str)]
    if failed:
        raise SystemExit(f"a {what} process failed: {failed[0]}")


def warm_up(url, round_trips=50):
    with sync_connect(url, origin=origin_of(url), proxy=None, open_timeout=10) as ws:
        for _ in range(round_trips):
            ws.send('{"warm": true}')
            ws.recv(timeout=RECV_TIMEOUT)
