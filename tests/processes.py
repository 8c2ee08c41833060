"""Real server processes for the template's tests: redis-server, uvicorn, gunicorn, nginx, manage.py commands.

Each starter waits until its port answers and returns a Popen; `stop` ends one and returns what it printed.
"""

import shutil
import socket
import subprocess
import sys
import time

import pytest

from .conftest import baked_env, free_port


def wait_for_port(process, port, what, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = stop(process)
                pytest.fail(f"{what} did not start on port {port}:\n{output}")
            time.sleep(0.05)


def stop(process):
    """Terminate a process started here (if still running) and return its output."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout else ""


def start_redis(directory, port=None):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return wait_for_port(process, port, "redis-server"), f"redis://127.0.0.1:{port}/0"


def spawn(project, *args, env):
    return subprocess.Popen(
        [sys.executable if arg == "python" else arg for arg in args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def start_uvicorn(project, env, port=None):
    port = port or free_port()
    slug = next(project.glob("*/asgi.py")).parent.name
    process = spawn(project, "python", "-m", "uvicorn", f"{slug}.asgi:application", "--port", str(port), env=env)
    return wait_for_port(process, port, "uvicorn"), f"127.0.0.1:{port}"


def start_gunicorn(project, env, workers=2, port=None):
    """gunicorn with the baked deploy/gunicorn.conf.py, bound to a free loopback port."""
    port = port or free_port()
    env = baked_env(**{**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)})
    slug = next(project.glob("*/asgi.py")).parent.name
    process = spawn(
        project, "python", "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", f"{slug}.asgi:application", env=env
    )
    return wait_for_port(process, port, "gunicorn"), f"127.0.0.1:{port}"
