"""Run every measurement in order (see benchmarks/speed/__init__.py) and write the figures."""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import devloop, speed

from .bake import bake
from .bake_time import bake_benchmark
from .echo import echo_benchmark
from .fanout import fanout_benchmark
from .held import measure_held
from .report import number, print_table, say, table_rows, write_figures
from .servers import RedisServer, bare_server, dev_server, prod_server

FULL = {"connections": 50, "messages": 200, "listeners": [200, 1000], "sent": 20, "held": 5000, "bakes": 5}
QUICK = {"connections": 10, "messages": 20, "listeners": [50], "sent": 5, "held": 500, "bakes": 2}


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def check(self, step):
        if time.monotonic() > self.end:
            raise SystemExit(f"overall deadline passed before {step}")


def raise_open_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def run(tmp, sizes, options, deadline, servers):
    """Every measurement, in order; `servers` collects what was started, for the caller to stop."""
    logs = tmp / "logs"
    logs.mkdir()

    def started(server):
        servers.append(server)
        return server.start()

    project = bake(tmp)
    figures = {"sizes": sizes}
    say(f"baked {project.name} (+ bench_tutorial) in {tmp}")

    say("1. echo round trips")
    dev, bare = started(dev_server("dev", project, logs)), started(bare_server(tmp / "bare", project, logs))
    prod = started(prod_server(project, logs))
    targets = {
        "bare ASGI": bare.url("/ws/echo/"),
        "project /ws/echo/": dev.url("/ws/echo/"),
        "project /ws/echo-json/": dev.url("/ws/echo-json/"),
        "tutorial echo": dev.url("/ws/tutorial-echo/"),
        "tutorial json echo": dev.url("/ws/tutorial-echo-json/"),
        "prod /ws/echo/": prod.url("/ws/echo/"),
    }
    figures["echo"] = echo_benchmark(targets, sizes, options.repeats, deadline)
    prod.stop()
    bare.stop()

    say("2. fan-out")
    redis_url = started(RedisServer(logs)).redis_url
    layers = {"memory": dev, "redis": started(dev_server("dev-redis", project, logs, redis_url))}
    figures["fanout"] = fanout_benchmark(layers, sizes, deadline)
    for server in layers.values():
        server.stop()

    say("3. held connections")
    figures["held"] = {}
    for name, make in [
        ("project", lambda: dev_server("held-dev", project, logs)),
        ("bare ASGI", lambda: bare_server(tmp / "bare", project, logs, "held-bare")),
    ]:
        deadline.check(f"held {name}")
        server = started(make())
        result = measure_held(server, sizes["held"])
        server.stop()
        figures["held"][name] = result
        say(
            f"  held {name:<10} RSS {result['rss_before_kb']} -> {result['rss_after_kb']} KB with {result['opened']}"
            f" sockets ({result['failed']} failed): {number(result['kb_per_connection'], 1)} KB each"
            + (f"  errors {result['errors']}" if result["errors"] else "")
        )

    say("4. bake time")
    deadline.check("bake time")
    figures["bake"] = bake_benchmark(tmp, sizes["bakes"])

    if options.devloop:
        say("5. dev loop (benchmarks/devloop.py)")
        deadline.check("dev loop")
        figures["devloop"] = devloop.medians(devloop.measure_both(tmp / "devloop", options.starts, options.edits))

    figures["server_log_problems"] = {s.name: problems for s in servers if (problems := s.problems())}
    return figures


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=speed.__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, for a smoke test")
    parser.add_argument("--devloop", action="store_true", help="also run benchmarks/devloop.py's measurement")
    parser.add_argument("--json", default="build/speed.json", help="where to write the figures")
    parser.add_argument("--repeats", type=int, default=None, help="echo runs per target (default 5, quick 1)")
    parser.add_argument("--starts", type=int, default=3, help="--devloop: cold starts per app")
    parser.add_argument("--edits", type=int, default=5, help="--devloop: edits per app")
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    options.repeats = options.repeats or (1 if options.quick else 5)
    deadline = Deadline(15 * 60 if options.quick else 50 * 60)

    limit = raise_open_file_limit()
    say(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f},"
        f" open files {limit}, sizes {sizes}"
    )
    servers = []
    with tempfile.TemporaryDirectory(prefix="speed-") as tmp:
        try:
            figures = run(Path(tmp), sizes, options, deadline, servers)
        finally:
            for server in servers:
                server.stop()
    for name, problems in figures["server_log_problems"].items():
        for line, count in problems.items():
            say(f"server log of {name}: {count} x {line}")
    figures["table"] = table_rows(figures)
    print_table(figures["table"])
    output = write_figures(figures, options.json)
    say(f"\nfigures written to {output}")


if __name__ == "__main__":
    main()
