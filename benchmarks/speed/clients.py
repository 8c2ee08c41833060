"""Client processes that load a server: each runs an asyncio coroutine with its share of the sockets."""

import asyncio
import multiprocessing
import threading

import uvloop
from websockets.asyncio.client import connect
from websockets.sync.client import connect as sync_connect

from benchmarks.devloop import origin_of

from . import cpu

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


class Phase:
    """The measured part of a client run. The client processes and the parent meet twice at its start (every
    socket open; then go, once the parent has read the CPU meters) and twice at its end (every client done; then
    close, once the parent has read them again): opening and closing sockets stay out of the figures."""

    def __init__(self, clients):
        self.barrier = MP.Barrier(clients + 1)

    async def begin(self):
        """In a client process: wait until every client is ready and the parent has started the meters."""
        await wait_barrier(self.barrier)
        await wait_barrier(self.barrier)

    async def end(self):
        """In a client process: wait until every client is done and the parent has stopped the meters."""
        await wait_barrier(self.barrier, timeout=PHASE_TIMEOUT)
        await wait_barrier(self.barrier)

    def measure(self, meter, processes, results):
        """In the parent: start `meter` (cpu.Meter) once every client is ready, stop it once every one is done.
        If a client fails (it aborts the barrier) or time runs out, stops the benchmark (wait_for_clients)."""
        wait_for_clients(self.barrier, 120, processes, results)
        meter.start()
        wait_for_clients(self.barrier, 120, processes, results)
        wait_for_clients(self.barrier, PHASE_TIMEOUT, processes, results)
        meter.stop()
        wait_for_clients(self.barrier, 120, processes, results)

    def abort(self):
        self.barrier.abort()


PHASE_TIMEOUT = 300  # seconds for a measured phase: a bound on hanging, not a speed requirement


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


def run_measured_clients(target, args_list, timeout, servers_cpu):
    """Run target(*args, phase) in one process per args, the measured part between phase.begin() and
    phase.end(); return (their results, the cpu.Meter result of `servers_cpu` ({name: cpu group}) and of the
    client processes, as "client"). A client's exception stops the benchmark with its message."""
    results, phase = MP.Queue(), Phase(len(args_list))
    processes = [
        MP.Process(target=in_client_process, args=(target, (*args, phase), results, phase)) for args in args_list
    ]
    for process in processes:
        process.start()
    meter = cpu.Meter({**servers_cpu, "client": ([p.pid for p in processes], False)})
    try:
        phase.measure(meter, processes, results)
        outcomes = [results.get(timeout=timeout) for _ in processes]
    finally:
        stop_clients(processes)
    check_outcomes(outcomes, "client")
    return outcomes, meter.result()


def wait_for_clients(barrier, timeout, processes, results):
    """In the parent: barrier.wait(timeout); if a client process failed first (in_client_process aborts the
    barrier) or time ran out, stop the benchmark with the client's error."""
    try:
        barrier.wait(timeout)
    except threading.BrokenBarrierError:
        barrier.abort()
        outcomes = [results.get(timeout=30) for _ in processes]
        check_outcomes(outcomes, "client")
        raise SystemExit(f"the client processes were not ready within {timeout} s") from None


def run(coroutine):
    """Run a client's coroutine on uvloop, as the servers run. The clients share the server's two cores: on
    asyncio's own loop they spent about 15% more CPU per fan-out delivery, and took it from the server when it
    mattered most (p99 at 1,000 listeners, against the tutorial's: 0.36-0.39x on asyncio, 0.28-0.33x on uvloop,
    in runs side by side)."""
    return uvloop.run(coroutine)


def in_client_process(target, args, results, waited_on=None):
    """What a client process runs: target(*args), its result or error put on `results`; on an error, `waited_on`
    (a Barrier or Phase the parent waits on) is aborted, so that the parent stops waiting."""
    try:
        results.put(run(target(*args)))
    except BaseException as error:  # reported by the parent
        if waited_on is not None:
            waited_on.abort()
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
