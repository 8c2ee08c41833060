"""Dev-loop benchmark: how long a developer waits, for the baked project and for a bare ASGI echo app.

Bakes the default project, then starts the command of its "uvicorn (reload)" PyCharm configuration (with a free
port) and measures, on a real WebSocket over loopback:

- cold start: from launching the process to the first echo on /ws/echo/ (median of --starts runs);
- edit-to-live: from saving an edited consumer to the first fresh socket that gets the edited behaviour
  (median of --edits edits).

The same two figures are measured for a one-file ASGI echo app served by the same uvicorn with the same
reload options, so the ratio shows what the project adds on top of uvicorn itself. Targets: cold start
<= 0.5 s, edit-to-live <= 0.6 s. Figures are wall-clock and depend on the machine's load.

Run: make bench   (or, from the repository's root: .venv/bin/python -m benchmarks.devloop [--starts N] [--edits N])
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from cookiecutter.main import cookiecutter
from websockets.sync.client import connect

from tests.support.bakes import TEMPLATE_DIR
from tests.support.processes import project_processes
from tests.support.run_configs import pycharm_configs

TARGETS = {"cold start": 0.5, "edit-to-live": 0.6}


def origin_of(url):
    """The Origin a page of the server at `url` sends: its scheme, host and port (the socket Origin check
    accepts no other)."""
    parts = urllib.parse.urlsplit(url)
    return f"{'https' if parts.scheme in ('https', 'wss') else 'http'}://{parts.netloc}"


BARE_APP = """\
PREFIX = "{prefix}"


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({{"type": "lifespan.startup.complete"}})
        await send({{"type": "lifespan.shutdown.complete"}})
    elif scope["type"] == "websocket":
        while (event := await receive())["type"] != "websocket.disconnect":
            if event["type"] == "websocket.connect":
                await send({{"type": "websocket.accept"}})
            else:
                await send({{"type": "websocket.send", "text": PREFIX + event["text"]}})
"""


def echo(port, text):
    url = f"ws://127.0.0.1:{port}/ws/echo/"
    with connect(url, origin=origin_of(url), open_timeout=2, close_timeout=0.5) as ws:
        ws.send(text)
        return ws.recv(timeout=2)


def wait_for_reply(port, text, expected, process, timeout=30):
    """Poll fresh sockets until one answers `expected`; return the time it did (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if echo(port, text) == expected:
                return time.monotonic()
        except Exception:  # not listening yet, or restarting
            pass
        time.sleep(0.005)
    raise SystemExit(f"no {expected!r} from port {port} within {timeout} s")


class Server:
    def __init__(self, args, cwd):
        self.port = project_processes.free_port()
        index = args.index("--port")
        self.args = [sys.executable, *args[: index + 1], str(self.port), *args[index + 2 :]]
        self.cwd = cwd
        self.process = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        started = time.monotonic()
        self.process = subprocess.Popen(
            self.args, cwd=self.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return started

    def stop(self):
        project_processes.stop(self.process, timeout=15)


def measure(name, server, edit, starts, edits):
    """Cold starts, then edits on the last running server; returns {"cold start": [...], "edit-to-live": [...]}."""
    figures = {"cold start": [], "edit-to-live": []}
    for run in range(starts):
        started = server.start()
        figures["cold start"].append(wait_for_reply(server.port, "ping", edit.reply("ping"), server.process) - started)
        if run < starts - 1:
            server.stop()
    try:
        for _ in range(edits):
            time.sleep(0.5)  # a developer does not save twice within half a second
            saved = edit.next()
            live = wait_for_reply(server.port, "ping", edit.reply("ping"), server.process)
            figures["edit-to-live"].append(live - saved)
    finally:
        server.stop()
    print(f"  {name}: " + "; ".join(f"{k} " + " ".join(f"{v:.3f}" for v in vs) for k, vs in figures.items()))
    return figures


class Edit:
    """Rewrites one source file so the echo reply gets a new prefix; `next()` saves and returns the time."""

    def __init__(self, path, write):
        self.path, self.write, self.version = path, write, 0
        self.write(self.prefix())

    def prefix(self):
        return f"v{self.version}:" if self.version else ""

    def reply(self, text):
        return self.prefix() + text

    def next(self):
        self.version += 1
        self.write(self.prefix())
        return time.monotonic()


def project_edit(project):
    consumers = project / "echo" / "consumers.py"
    original = consumers.read_text()
    marker = '"text": event["text"]}'
    assert marker in original, "the echo consumer changed: update benchmarks/devloop.py"

    def write(prefix):
        consumers.write_text(original.replace(marker, f'"text": "{prefix}" + event["text"]}}'))

    return Edit(consumers, write)


def bare_edit(folder):
    module = folder / "bare_echo.py"
    return Edit(module, lambda prefix: module.write_text(BARE_APP.format(prefix=prefix)))


def measure_both(folder, starts, edits):
    """Bake the defaults into `folder`, then measure the project and the bare app; returns their raw figures."""
    project = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(folder)))
    config = next(c for c in pycharm_configs(project) if c.name == "uvicorn (reload)")
    bare_dir = folder / "bare"
    bare_dir.mkdir()
    # The same uvicorn options as the project's configuration, pointed at the bare app and its folder.
    bare_args = ["-m", "uvicorn", "bare_echo:app", "--reload", "--reload-dir", str(bare_dir), "--port", "0"]
    print(f"uvicorn (reload) command: python {' '.join(config.args)}")
    print("raw figures (seconds):")
    return {
        "project": measure("project", Server(config.args, config.cwd), project_edit(project), starts, edits),
        "bare": measure("bare ASGI", Server(bare_args, bare_dir), bare_edit(bare_dir), starts, edits),
    }


def medians(results):
    return {
        who: {figure: statistics.median(values) for figure, values in figures.items()}
        for who, figures in results.items()
    }


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.devloop", description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="cold starts per app (default 3)")
    parser.add_argument("--edits", type=int, default=5, help="edits per app (default 5)")
    options = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="devloop-") as tmp:
        results = medians(measure_both(Path(tmp), options.starts, options.edits))

    print()
    print(f"{'median':<14}{'project':>10}{'bare ASGI':>11}{'ratio':>8}{'target':>9}   verdict")
    for figure, target in TARGETS.items():
        project_median, bare_median = results["project"][figure], results["bare"][figure]
        verdict = "met" if project_median <= target else "MISSED"
        print(
            f"{figure:<14}{project_median:>9.3f}s{bare_median:>10.3f}s{project_median / bare_median:>7.1f}x"
            f"{target:>8.1f}s   {verdict}"
        )


if __name__ == "__main__":
    main()
