"""CPU seconds from the kernel's own accounting of each process (Linux /proc/<pid>/stat: utime + stime).

The figure of a process includes its threads, living or ended; a process tree's adds every descendant alive at
the time of reading (gunicorn's workers). The kernel counts in clock ticks (TICK seconds, usually 10 ms), so a
phase should cost the server many ticks: `ticks` in a measurement says how many it did.
"""

import os
import time
from pathlib import Path

TICK = 1 / os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    """(ppid, utime + stime in ticks) of `pid`, or None if it has ended. The command name, in parentheses, may
    hold spaces: fields are counted from its closing parenthesis."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3 (state) of proc(5)
    return int(fields[1]), int(fields[11]) + int(fields[12])


def descendants(root):
    """The pids of `root`'s living descendants (children, their children...), from one scan of /proc."""
    children = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := stat_fields(entry.name)) is not None:
            children.setdefault(fields[0], []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), ()):
            found.append(child)
            queue.append(child)
    return found


def ticks(pids, tree=False):
    """Clock ticks spent so far by the processes `pids` (ended ones count 0), with their descendants if `tree`."""
    total = 0
    for pid in pids:
        for each in [pid, *(descendants(pid) if tree else ())]:
            fields = stat_fields(each)
            total += fields[1] if fields else 0
    return total


class Meter:
    """Reads the CPU ticks of named groups of processes at the start and end of a phase, with the wall time.

    groups: {name: (pids, tree)}; pids may be a callable returning them (read at each reading).
    """

    def __init__(self, groups):
        self.groups, self.started, self.ended = groups, None, None

    def read(self):
        readings = {}
        for name, (pids, tree) in self.groups.items():
            readings[name] = ticks(pids() if callable(pids) else pids, tree)
        return time.monotonic(), readings

    def start(self):
        self.started = self.read()

    def stop(self):
        self.ended = self.read()

    def result(self):
        """{"wall_s": seconds, "started"/"ended": monotonic times, name: {"cpu_s": seconds, "ticks": n}} between
        start() and stop()."""
        (t0, before), (t1, after) = self.started, self.ended
        result = {"wall_s": t1 - t0, "started": t0, "ended": t1}
        for name in self.groups:
            spent = after[name] - before[name]
            result[name] = {"cpu_s": spent * TICK, "ticks": spent}
        return result


def per_unit(spent, count, client_processes):
    """From a Meter result with "server" and "client" groups: their CPU µs per unit (`count` messages or
    deliveries), how busy each was (the server: share of one core; the client: of one core per process, of
    `client_processes`), the server's ticks and the phase's length."""
    wall = spent["wall_s"]
    return {
        "server_cpu_us": 1e6 * spent["server"]["cpu_s"] / count if count else None,
        "client_cpu_us": 1e6 * spent["client"]["cpu_s"] / count if count else None,
        "server_busy": spent["server"]["cpu_s"] / wall if wall else None,  # of one core
        "client_busy": spent["client"]["cpu_s"] / wall / client_processes if wall else None,  # of one core each
        "server_ticks": spent["server"]["ticks"],
        "phase_s": wall,
    }
