"""manage.py runworker refuses, in one line, the in-memory layer and a channel no app declares, and waits for a
Redis that is away."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from {{ cookiecutter.project_slug }}.routing import channel_workers
from {{ cookiecutter.project_slug }}.testing import processes

PROJECT_DIR = Path(__file__).resolve().parents[2]


def runworker(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "runworker", "tasks"],
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.memory_layer
def test_runworker_refuses_the_in_memory_layer_and_says_why():
    with pytest.raises(CommandError, match="in-memory channel layer.*REDIS_URL"):
        call_command("runworker", "tasks")


def test_runworker_on_the_in_memory_layer_exits_at_once_with_one_line():
    result = runworker(REDIS_URL="")
    assert result.returncode == 1
    assert "runworker cannot work with the in-memory channel layer" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def test_runworker_refuses_a_channel_no_app_declares_naming_the_declared_ones():
    result = subprocess.run(
        [sys.executable, "manage.py", "runworker", "no-such-worker"],
        cwd=PROJECT_DIR,
        env={**os.environ, "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result
    assert "No worker is declared for no-such-worker. Declared workers: " in result.stderr, result.stderr
    assert all(name in result.stderr for name in channel_workers), result.stderr
    assert "Traceback" not in result.stderr


def test_runworker_waits_for_an_unreachable_redis_naming_the_host(tmp_path):
    if not channel_workers:
        pytest.skip("no app's routing.py declares channel_workers")
    port = closed_port()
    log = tmp_path / "runworker.log"
    with open(log, "w") as output:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "runworker", next(iter(channel_workers))],
            cwd=PROJECT_DIR,
            env={**os.environ, "REDIS_URL": f"redis://:secret@127.0.0.1:{port}/0"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while "Waiting for it" not in log.read_text() and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        # Waiting, not exiting: systemd or compose would otherwise restart it in a loop and give up.
        assert worker.poll() is None, log.read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    printed = log.read_text()
    assert f"(channel_layers.E001) The channel layer cannot reach Redis at 127.0.0.1:{port}" in printed
    assert "Waiting for it" in printed and "Traceback" not in printed and "secret" not in printed


@pytest.mark.redis
def test_runworker_exits_with_one_line_when_redis_refuses_the_password(tmp_path):
    # redis-py's AuthenticationError is a ConnectionError: it must not be waited for as an unreachable Redis.
    if not channel_workers:
        pytest.skip("no app's routing.py declares channel_workers")
    redis, url = processes.start_redis_server(tmp_path, password="right-pw")
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "runworker", next(iter(channel_workers))],
            cwd=PROJECT_DIR,
            env={**os.environ, "REDIS_URL": url.replace("right-pw", "wrong-pw")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        processes.stop(redis)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "Wrong password for Redis: correct the password in REDIS_URL." in line
    assert "Waiting" not in line and "wrong-pw" not in line
