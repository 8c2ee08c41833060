"""Run every measurement in order (see benchmarks/speed/__init__.py) and write the figures."""

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import devloop, speed
from tests.support import pythons

from . import gc_pauses
from .bake import bake
from .bake_time import bake_benchmark
from .echo import echo_benchmark
from .fanout import fanout_benchmark
from .held import measure_held
from .report import number, print_table, say, table_rows, write_figures
from .servers import Servers

# sent: {listeners: messages sent to them}. At 1,000 listeners a run lasts long enough for the servers' full
# collections to show (they set the p99 of longer runs). Echo: 30,000 round trips a run, so that the server's CPU
# (counted in 10 ms ticks, about 60 a run for the bare app) varies by a few percent from tick rounding, not 10%.
# 200 a connection: within the JSON echo's rate-limit burst (settings.SOCKET_MESSAGE_BURST).
FULL = {"connections": 150, "messages": 200, "sent": {200: 100, 1000: 60}, "held": 5000, "bakes": 5}
QUICK = {"connections": 10, "messages": 100, "sent": {50: 10}, "held": 500, "bakes": 2}


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


def server_python(version):
    """The interpreter the servers run on for `version` ("3.11", "3.13"...): this one if it is that version, else
    the environment the template suite makes from a bake's uv.lock (tests/support/pythons.py)."""
    if version is None or version == ".".join(map(str, sys.version_info[:2])):
        return Path(sys.executable)
    name = f"py{version}"
    if name not in pythons.PYTHONS:
        raise SystemExit(f"--python {version}: not one of {sorted(pythons.PYTHONS)} or this interpreter's version")
    say(f"making or checking {pythons.VENVS / name} (tests/support/pythons.py)")
    try:
        return pythons.environment(name)
    except RuntimeError as error:  # the interpreter is not installed
        raise SystemExit(f"--python {version}: {error}") from None


def versions(python):
    """Python and Django versions of the interpreter `python`: {"python": "X.Y.Z", "django": "A.B.C"}."""
    code = "import sys, django; print(sys.version.split()[0], django.get_version())"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    python_version, django_version = out.split()
    return {"python": python_version, "django": django_version}


def run(tmp, sizes, options, deadline, servers):
    """Every measurement, in order; `servers` (a Servers) keeps what it started, for the caller to stop."""
    say("1. echo round trips")
    dev, bare = servers.start(servers.dev("dev")), servers.start(servers.bare(tmp / "bare"))
    prod = servers.start(servers.prod())
    targets = {
        "bare ASGI": (bare, "/ws/echo/"),
        "project /ws/echo/": (dev, "/ws/echo/"),
        "project /ws/echo-json/": (dev, "/ws/echo-json/"),
        "tutorial echo": (dev, "/ws/tutorial-echo/"),
        "tutorial json echo": (dev, "/ws/tutorial-echo-json/"),
        "prod /ws/echo/": (prod, "/ws/echo/"),
    }
    figures = {"echo": echo_benchmark(targets, sizes, options.repeats, deadline)}
    prod.stop()
    bare.stop()

    say("2. fan-out")
    redis = servers.start(servers.redis())
    layers = {"memory": (dev, None), "redis": (servers.start(servers.dev("dev-redis", redis.redis_url)), redis)}
    figures["fanout"] = fanout_benchmark(layers, sizes, options.repeats, deadline)
    for server, _ in layers.values():
        server.stop()

    say("3. held connections")
    figures["held"] = {}
    held = {"project": lambda: servers.dev("held-dev"), "bare ASGI": lambda: servers.bare(tmp / "bare", "held-bare")}
    for name, make in held.items():
        deadline.check(f"held {name}")
        server = servers.start(make())
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

    figures["server_log_problems"] = {s.name: problems for s in servers.started if (problems := s.problems())}
    return figures


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=speed.__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, for a smoke test")
    parser.add_argument("--devloop", action="store_true", help="also run benchmarks/devloop.py's measurement")
    parser.add_argument("--json", default="build/speed.json", help="where to write the figures")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved runs per figure (default 5, quick 2)")
    parser.add_argument(
        "--python", default=None, help="the servers' Python, e.g. 3.13 (default: this interpreter's version)"
    )
    parser.add_argument("--starts", type=int, default=3, help="--devloop: cold starts per app")
    parser.add_argument("--edits", type=int, default=5, help="--devloop: edits per app")
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    options.repeats = options.repeats or (2 if options.quick else 5)
    deadline = Deadline(15 * 60 if options.quick else 90 * 60)

    limit = raise_open_file_limit()
    # A SIGTERM (a timeout, a killed make) unwinds like an error, so that every server started is stopped.
    signal.signal(signal.SIGTERM, lambda signal_number, frame: sys.exit(128 + signal_number))
    python = server_python(options.python)
    running = versions(python)
    say(
        f"servers on Python {running['python']} with Django {running['django']} ({python}); clients on Python"
        f" {sys.version.split()[0]}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, open files"
        f" {limit}, {options.repeats} interleaved runs, sizes {sizes}"
    )
    with tempfile.TemporaryDirectory(prefix="speed-") as tmp:
        tmp = Path(tmp)
        logs = tmp / "logs"
        logs.mkdir()
        project = bake(tmp, python)
        say(f"baked {project.name} (+ bench_tutorial) in {tmp}")
        servers = Servers(project, python, logs, gc_pauses.install(tmp / "gc_hook"))
        try:
            figures = run(tmp, sizes, options, deadline, servers)
        finally:
            servers.stop_all()
    figures.update(servers=running, sizes=sizes, repeats=options.repeats)
    for name, problems in figures["server_log_problems"].items():
        for line, count in problems.items():
            say(f"server log of {name}: {count} x {line}")
    figures["table"] = table_rows(figures)
    say(
        f"\nservers on Python {running['python']}, Django {running['django']}; load average at the end"
        f" {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print_table(figures["table"])
    output = write_figures(figures, options.json)
    say(f"\nfigures written to {output}")


if __name__ == "__main__":
    main()
