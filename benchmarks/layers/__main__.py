"""Run the three scenarios (see benchmarks/layers/__init__.py) on every layer class and write the figures."""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import layers
from benchmarks.speed.bake import bake
from benchmarks.speed.report import number, say, write_figures

from .churn import churn_run
from .fanout import fanout_run
from .restart import restart_run
from .servers import LAYERS, LayerSetup

FULL = {
    "rooms": 5,
    "steady": 2,  # per room and server
    "churners": 20,  # per client process (one per server)
    "churn_seconds": 20,
    "sessions_per_client": 2000,
    "listeners": 500,
    "sent": 20,
    "restart_listeners": 20,
    "restart_tick": 0.05,
    "restart_before": 3,
    "restart_down": 3,
    "restart_after": 10,
    "restart_settle": 2,
}
QUICK = {**FULL, "churners": 5, "churn_seconds": 5, "listeners": 50, "sent": 5, "restart_after": 5}

# (scenario, figure key, label) for the table, a column per layer.
TABLE = [
    ("churn", "sessions_per_s", "churn: sessions/s"),
    ("churn", "messages_confirmed", "churn: messages that came back to the sender"),
    ("churn", "steady_lost", "churn: copies lost by the steady sockets"),
    ("churn", "steady_expected", "churn: copies expected by the steady sockets"),
    ("churn", "own_message_never_came_back", "churn: own message never came back"),
    ("churn", "wrong_room_frames", "churn: frames from another room"),
    ("churn", "client_errors", "churn: client errors"),
    ("churn", "group_members_left_in_redis", "churn: group members left in Redis"),
    ("churn", "tracebacks", "churn: tracebacks in server logs"),
    ("fanout", "deliveries_per_s", "fan-out: deliveries/s"),
    ("fanout", "p50_ms", "fan-out: p50 ms"),
    ("fanout", "p99_ms", "fan-out: p99 ms"),
    ("fanout", "lost", "fan-out: lost"),
    ("fanout", "tracebacks", "fan-out: tracebacks in server logs"),
    ("restart", "recovered", "restart: recovered without a server restart"),
    ("restart", "recovery_s", "restart: s from Redis back to every message delivered"),
    ("restart", "lost_before_stop", "restart: copies lost before the stop"),
    ("restart", "lost_after_restart", "restart: copies lost after Redis was back"),
    ("restart", "listener_sockets_closed_by_server", "restart: listener sockets closed by the server"),
    ("restart", "listeners_open_at_end", "restart: listeners open at the end"),
    ("restart", "tracebacks", "restart: tracebacks in server logs"),
    ("restart", "servers_running", "restart: servers still running"),
]


def raise_open_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def run(tmp, sizes, names, started):
    logs = tmp / "logs"
    logs.mkdir()
    project = bake(tmp)
    say(f"baked {project.name} in {tmp}")
    setups = [LayerSetup(project, name, logs).start(started) for name in names]
    for setup in setups:
        say(f"  {setup.name}: {setup.backend} on {', '.join(setup.urls(''))}, Redis {setup.redis.redis_url}")
    figures = {setup.name: {"backend": setup.backend} for setup in setups}
    say("1. churn")
    for setup in setups:
        figures[setup.name]["churn"] = churn_run(setup, sizes)
    say("2. fan-out")
    for setup in setups:
        figures[setup.name]["fanout"] = fanout_run(setup, sizes["listeners"], sizes["sent"])
    say("3. Redis restart")
    for setup in setups:
        figures[setup.name]["restart"] = restart_run(setup, sizes)
    return figures


def print_table(figures):
    names = list(figures)
    width = max(len(label) for _, _, label in TABLE) + 2
    say("")
    say(f"{'figure':<{width}}" + "".join(f"{name:>10}" for name in names))
    for scenario, key, label in TABLE:
        values = [figures[name][scenario][key] for name in names]
        cells = [str(v).lower() if isinstance(v, bool) else number(v) for v in values]
        say(f"{label:<{width}}" + "".join(f"{cell:>10}" for cell in cells))


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.layers", description=layers.__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, for a smoke test")
    parser.add_argument("--json", default="build/layers.json", help="where to write the figures")
    parser.add_argument("--layers", nargs="+", choices=list(LAYERS), default=list(LAYERS), help="which classes")
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    limit = raise_open_file_limit()
    say(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f},"
        f" open files {limit}, sizes {sizes}"
    )
    began, servers = time.monotonic(), []

    def started(server):
        servers.append(server)
        return server.start()

    with tempfile.TemporaryDirectory(prefix="lay-") as tmp:
        try:
            figures = run(Path(tmp), sizes, options.layers, started)
        finally:
            for server in reversed(servers):
                server.stop()
    print_table(figures)
    figures["_run"] = {"sizes": sizes, "seconds": time.monotonic() - began, "load_average": os.getloadavg()}
    output = write_figures(figures, options.json)
    say(f"\nfigures written to {output} in {time.monotonic() - began:.0f} s, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
