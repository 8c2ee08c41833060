"""The servers measured: the bake's dev command (memory or Redis layer), its prod command, a bare ASGI app."""

import collections
import os
import re
import sys

from benchmarks import devloop
from tests.support.processes import project_processes as processes
from tests.support.run_configs import pycharm_configs

EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?\w*(?:Error|Exception)\b.*$", re.MULTILINE)  # a traceback's last line


class Server:
    """A server subprocess on a free port, its output in a log file; stop() terminates, then kills."""

    def __init__(self, name, args, cwd, env, logs):
        self.name, self.port = name, processes.free_port()
        self.args = [arg.replace("{port}", str(self.port)) for arg in args]
        self.cwd, self.env, self.log = cwd, env, logs / f"{name}.log"
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


def server_env(redis_url=""):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", REDIS_URL=redis_url)
    return env


def dev_args(project):
    """The project's "uvicorn (debug)" PyCharm configuration: its dev command without reload, on {port}."""
    config = next(c for c in pycharm_configs(project) if c.name == "uvicorn (debug)")
    args = [sys.executable, *config.args]
    args[args.index("--port") + 1] = "{port}"
    return args


def dev_server(name, project, logs, redis_url=""):
    return Server(name, dev_args(project), project, server_env(redis_url), logs)


def prod_server(project, logs):
    args = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    server = Server("prod", args, project, server_env(), logs)
    server.env.update(
        WEB_CONCURRENCY="1", GUNICORN_BIND=f"127.0.0.1:{server.port}", GUNICORN_CMD_ARGS="--no-control-socket"
    )
    return server


def bare_server(folder, project, logs, name="bare"):
    """The one-file echo app under the project's dev command: the same uvicorn options."""
    folder.mkdir(exist_ok=True)
    (folder / "bare_echo.py").write_text(devloop.BARE_APP.format(prefix=""))
    args = ["bare_echo:app" if arg.endswith(".asgi:application") else arg for arg in dev_args(project)]
    return Server(name, args, folder, server_env(), logs)
