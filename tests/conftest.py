"""Fixtures for the template suite: baked projects, and a real Redis server for the ones that need it."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parent.parent

# Option combinations the suite bakes; each baked project gets its own tests, lint and checks run.
MATRIX = {
    "defaults": {},
    "no-demo-apps": {"include_demo_apps": False, "editor": "both"},
    "no-deploy": {"include_deploy": False, "editor": "none"},
    "redis-layer": {"channel_layer": "redis", "editor": "both"},
    "other-name": {"project_name": "Zulu Chat Ops", "description": "Operations chat", "editor": "vscode"},
}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def baked_env(**extra):
    """The environment a baked project's commands run in: ours, minus what would confuse its pytest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env.pop("REDIS_URL", None)
    return {**env, **extra}


def run_in(project, *args, env=None, timeout=300):
    """Run a command in a baked project with this environment's Python; fail with its output."""
    command = [sys.executable if arg == "python" else arg for arg in args]
    result = subprocess.run(
        command, cwd=project, env=env or baked_env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{' '.join(args)} failed in {project}:\n{result.stdout}\n{result.stderr}"
    return result


def bake_and_migrate(cookies_session, **context):
    """A bake with its database migrated, for tests that serve it. Checks are skipped: a redis bake's .env
    names a Redis at 127.0.0.1:6379 that the system checks would (rightly) not find."""
    project = cookies_session.bake(extra_context=context).project_path
    run_in(project, "python", "manage.py", "migrate", "--skip-checks", "--verbosity", "0")
    return project


@pytest.fixture(scope="session", params=list(MATRIX), ids=list(MATRIX))
def baked(request, cookies_session):
    """(name, extra_context, project_path) for each option combination, baked once per test worker."""
    context = MATRIX[request.param]
    result = cookies_session.bake(extra_context=context)
    assert result.exit_code == 0, result.exception
    return request.param, context, Path(result.project_path)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port, without persistence, stopped after the session."""
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: .ci/run should have installed it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
