"""A test run stopped with SIGTERM (an IDE's stop button, CI cancelling a job) stops what it started, as Ctrl+C
does (testing/plugin.py, pytest_configure)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
WAITING_TEST = """
import time

def test_waits(redis_url):
    print("serving", redis_url, flush=True)
    time.sleep(60)
"""


def answers(port):
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.redis
def test_a_run_stopped_with_sigterm_stops_its_redis_server(tmp_path):
    (tmp_path / "test_waiting.py").write_text(WAITING_TEST)
    options = ["-c", str(PROJECT_DIR / "pyproject.toml"), "--rootdir", str(PROJECT_DIR), "-p", "no:cacheprovider"]
    plugin = ["-p", "{{ cookiecutter.project_slug }}.testing.plugin"]
    command = [sys.executable, "-m", "pytest", *options, *plugin, "-s", "-q", "--redis", str(tmp_path)]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    run = subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = run.stdout.readline()
            seen.append(line)
            if line.startswith("serving ") or not line:
                break
        assert seen[-1].startswith("serving "), "".join(seen)
        port = urlsplit(seen[-1].split()[1]).port
        assert answers(port)
        run.send_signal(signal.SIGTERM)
        started = time.monotonic()
        run.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        run.kill()
        run.stdout.close()
    assert run.returncode != 0
    assert not answers(port), f"redis-server on {port} outlived the run"
    print(f"the run ended {took:.1f} s after SIGTERM")
