"""Real processes for tests: a free loopback port, a private redis-server, uvicorn with this project's options.

Plain Python with no Django import and no template variable: the cookiecutter template's own suite and
benchmarks load this very file, so each starter is written once.
"""

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"


def _load_server_module():
    """The project's server.py, by path: this file is also loaded on its own, outside the project package."""
    spec = importlib.util.spec_from_file_location("project_server", Path(__file__).resolve().parents[1] / "server.py")
    assert spec is not None and spec.loader is not None  # a .py file that exists always has both
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The uvicorn options of every server command of the project (server.py).
SERVER_OPTIONS = _load_server_module().uvicorn_args()


class StartFailed(RuntimeError):
    """A process did not start; `process` (killed by then) is the one that failed, if it was launched."""

    def __init__(self, message, process=None):
        super().__init__(message)
        self.process = process


class MissingProgram(StartFailed):
    """The program to start is not installed."""


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def launch(args, cwd, env=None, log=None, **popen):
    """Popen with the output appended to the file `log` (a path), or discarded without one."""
    if log is None:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, **popen)
    with open(log, "a") as output:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, **popen)


def wait_for_port(process, port, what, timeout=20):
    """Return `process` once HOST:port accepts a connection; if it exits first or time runs out, kill it and
    raise StartFailed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise StartFailed(f"{what} did not start on port {port}", process) from None
            time.sleep(0.05)


def start_redis_server(directory, port=None, timeout=10, launch=launch, **launch_options):
    """A redis-server on a free loopback port (or `port`), without persistence, working in `directory`;
    returns (process, url) once it answers. `launch` and `launch_options`: how to start the process."""
    server = shutil.which("redis-server")
    if server is None:
        raise MissingProgram("redis-server is not on the PATH (Debian: apt-get install redis-server)")
    port = port or free_port()
    command = [server, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    process = launch(command, directory, **launch_options)
    return wait_for_port(process, port, "redis-server", timeout), f"redis://{HOST}:{port}/0"


def start_uvicorn(app, port, cwd, env=None, timeout=30, launch=launch, **launch_options):
    """`python -m uvicorn app` with SERVER_OPTIONS on HOST:port; returns the process once it answers."""
    command = [sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(port), *SERVER_OPTIONS]
    return wait_for_port(launch(command, cwd, env, **launch_options), port, "uvicorn", timeout)


def stop(process, timeout=10):
    """SIGTERM, then SIGKILL if it has not ended within `timeout` s; True if it ended on SIGTERM."""
    if process.poll() is not None:
        return True
    process.terminate()
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False


def resident_kb(pid):
    """The resident memory (VmRSS) of the process `pid`, in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")
