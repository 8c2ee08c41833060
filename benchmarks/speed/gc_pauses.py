"""The servers' full garbage collections, timed inside each server process without changing the baked project.

`install(folder)` writes a `sitecustomize.py` into `folder` and returns the environment that enables it: Python
imports `sitecustomize` from PYTHONPATH at startup, and the module does nothing unless SPEED_GC_LOG names a file.
With it, a `gc.callbacks` hook times every generation-2 (full) collection and appends one line per collection to
that file: pid, the monotonic time it ended, its pause in seconds (wall time: what every socket of the process
waits) and the CPU seconds its thread spent in it (the pause less what the machine's load took away). Lines are
written with O_APPEND, so the workers of one server (gunicorn) share one file; the benchmark reads the
collections that ended within a phase (`pauses`). The hook costs a function call per collection of any
generation, and a write per full one.
"""

import os
from pathlib import Path

SITECUSTOMIZE = '''\
"""Written by benchmarks/speed (gc_pauses.py): logs each full garbage collection's pause to $SPEED_GC_LOG."""

import os

if os.environ.get("SPEED_GC_LOG"):
    import gc
    import time

    _log = os.open(os.environ["SPEED_GC_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    _started = None

    def _time_full_collections(phase, info):
        global _started
        if info["generation"] != 2:
            return
        if phase == "start":
            _started = time.monotonic(), time.thread_time()
        elif _started is not None:
            ended, cpu = time.monotonic(), time.thread_time()
            os.write(_log, f"{os.getpid()} {ended!r} {ended - _started[0]!r} {cpu - _started[1]!r}\\n".encode())
            _started = None

    gc.callbacks.append(_time_full_collections)
'''


def install(folder):
    """Write the hook into `folder`; return {variable: value} for a server's environment, its log file beside."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


def pauses(log, started, ended):
    """[(pause, cpu)] in seconds of the full collections logged in `log` that ended between the monotonic times
    `started` and `ended`, in order."""
    if not Path(log).exists():
        return []
    found = []
    for line in Path(log).read_text().splitlines():
        _pid, at, pause, cpu = line.split()
        if started <= float(at) <= ended:
            found.append((float(pause), float(cpu)))
    return found


def summary(found):
    """{"full_gcs": count, "longest_gc_ms": the longest pause (wall) in ms, "longest_gc_cpu_ms": the most CPU one
    took, in ms}; both None without a full collection."""
    return {
        "full_gcs": len(found),
        "longest_gc_ms": 1000 * max(pause for pause, _ in found) if found else None,
        "longest_gc_cpu_ms": 1000 * max(cpu for _, cpu in found) if found else None,
    }
