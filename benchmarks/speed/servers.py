"""The servers measured: the bake's dev command (memory or Redis layer), its prod command, a bare ASGI app.

Each runs on the interpreter the run measures (`--python`), with the full-collection hook of `gc_pauses` on its
PYTHONPATH, its output and its collections logged under the run's logs folder.
"""

import collections
import os
import re
import sys

from benchmarks import devloop
from tests.support.processes import project_processes as processes
from tests.support.run_configs import pycharm_configs

from . import gc_pauses

EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?\w*(?:Error|Exception)\b.*$", re.MULTILINE)  # a traceback's last line


class Server:
    """A server subprocess on a free port, its output in a log file; stop() terminates, then kills."""

    def __init__(self, name, args, cwd, env, logs):
        self.name, self.port = name, processes.free_port()
        self.args = [arg.replace("{port}", str(self.port)) for arg in args]
        self.cwd, self.env, self.log = cwd, env, logs / f"{name}.log"
        self.gc_log = logs / f"{name}.gc"
        if env is not None:
            self.env = {**env, "SPEED_GC_LOG": str(self.gc_log)}
        self.process = None

    def start(self):
        """Start the command; return once a socket on /ws/echo/ echoes."""
        self.process = processes.launch(self.args, self.cwd, self.env, log=self.log)
        devloop.wait_for_reply(self.port, "ping", "ping", self.process, timeout=60)
        return self

    def url(self, path):
        return f"ws://127.0.0.1:{self.port}{path}"

    def rss_kb(self):
        return processes.resident_kb(self.process.pid)

    def cpu_group(self):
        """What cpu.Meter reads for this server: its process and every descendant (gunicorn's workers)."""
        return [self.process.pid], True

    def gc_pauses(self, started, ended):
        """[(pause, cpu)] (s) of the full collections of this server (all its processes) between two monotonic times."""
        return gc_pauses.pauses(self.gc_log, started, ended)

    def gc_summary(self, spent):
        """gc_pauses.summary of this server's full collections within a phase (`spent`: a cpu.Meter result)."""
        return gc_pauses.summary(self.gc_pauses(spent["started"], spent["ended"]))

    def problems(self):
        """{exception line: count} of the tracebacks in the server's output."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return dict(collections.Counter(EXCEPTION_LINE.findall(text)))

    def stop(self):
        if self.process:
            processes.stop(self.process)


class RedisServer(Server):
    """A private redis-server on a free port, without persistence; `redis_url` is for REDIS_URL."""

    def __init__(self, logs):
        super().__init__("redis", [], logs, None, logs)

    def start(self):
        self.process, self.redis_url = processes.start_redis_server(self.cwd, self.port, log=self.log)
        return self


class Servers:
    """Makes the servers of one run: `python` runs them, `hook_env` (gc_pauses.install) is added to their
    environment; `started` lists every server started, for the caller to stop."""

    def __init__(self, project, python, logs, hook_env):
        self.project, self.python, self.logs, self.hook_env = project, str(python), logs, hook_env
        self.started = []

    def start(self, server):
        self.started.append(server)
        return server.start()

    def env(self, redis_url=""):
        return {**server_env(redis_url), **self.hook_env}

    def dev_args(self):
        """The project's "uvicorn (debug)" PyCharm configuration: its dev command without reload, on {port}."""
        config = next(c for c in pycharm_configs(self.project) if c.name == "uvicorn (debug)")
        args = [self.python, *config.args]
        args[args.index("--port") + 1] = "{port}"
        return args

    def dev(self, name, redis_url=""):
        return Server(name, self.dev_args(), self.project, self.env(redis_url), self.logs)

    def prod(self):
        args = [self.python, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
        server = Server("prod", args, self.project, self.env(), self.logs)
        server.env.update(
            WEB_CONCURRENCY="1", GUNICORN_BIND=f"127.0.0.1:{server.port}", GUNICORN_CMD_ARGS="--no-control-socket"
        )
        return server

    def bare(self, folder, name="bare"):
        """The one-file echo app under the project's dev command: the same uvicorn options."""
        folder.mkdir(exist_ok=True)
        (folder / "bare_echo.py").write_text(devloop.BARE_APP.format(prefix=""))
        args = ["bare_echo:app" if arg.endswith(".asgi:application") else arg for arg in self.dev_args()]
        return Server(name, args, folder, self.env(), self.logs)

    def redis(self):
        return RedisServer(self.logs)

    def stop_all(self):
        for server in self.started:
            server.stop()


def dev_server(name, project, logs, redis_url=""):
    """The dev command on this interpreter, without the hook (benchmarks/layers)."""
    return Servers(project, sys.executable, logs, {}).dev(name, redis_url)


def server_env(redis_url=""):
    """A server's environment without the hook (also the bake's migrate step's): DEBUG off, loopback hosts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", REDIS_URL=redis_url)
    return env
