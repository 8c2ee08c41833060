"""A dependency that is down degrades a baked project, never cascades: with Redis stopped, real gunicorn keeps
serving pages through a killed worker and a reload, sockets are closed cleanly (1013, try again later), every
process says it is not ready and recovers by itself when Redis returns, and /readyz says so within its timeout
while /healthz stays up; runworker waits and reconnects; the systemd units and compose services keep restarting
for longer than a Redis restart takes."""

import asyncio
import configparser
import json
import os
import re
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
import websockets
import yaml

from .support.bakes import bake_and_migrate, baked_env, run_in
from .support.processes import free_port, read_until, spawn, start_gunicorn, start_redis, start_uvicorn, stop

TRY_AGAIN_LATER = 1013


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session, channel_layer="redis")


def page_status(address, path="/chat/lobby/"):
    with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as page:
        return page.status


def workers_of(master_pid):
    return [int(pid) for pid in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()]


async def socket_close_code(address):
    """How the server ends a chat socket while Redis is away: the close code the client reads."""
    async with websockets.connect(f"ws://{address}/ws/chat/lobby/", origin=f"http://{address}") as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return ws.close_code


async def chat_reaches_everyone(address, sockets=6):
    clients = [
        await websockets.connect(f"ws://{address}/ws/chat/lobby/", origin=f"http://{address}") for _ in range(sockets)
    ]
    try:
        await clients[0].send(json.dumps({"message": "back"}))
        return [json.loads(await asyncio.wait_for(ws.recv(), 10))["message"] for ws in clients]
    finally:
        for ws in clients:
            await ws.close()


def wait_until(condition, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.redis
def test_gunicorn_serves_pages_through_a_killed_worker_and_a_reload_while_redis_is_down(project, tmp_path):
    redis_port = free_port()
    redis_server, url = start_redis(tmp_path, redis_port)
    gunicorn, address = start_gunicorn(project, baked_env(REDIS_URL=url), workers=2)
    try:
        assert page_status(address) == 200
        stop(redis_server)
        assert [page_status(address) for _ in range(4)] == [200] * 4
        assert asyncio.run(socket_close_code(address)) == TRY_AGAIN_LATER

        # A worker killed: its replacement starts without Redis, and the master keeps going.
        os.kill(workers_of(gunicorn.pid)[0], signal.SIGKILL)
        read_until(gunicorn, "Application startup complete", count=3)
        assert [page_status(address) for _ in range(4)] == [200] * 4
        # A reload (systemctl reload): every worker is replaced, each starting without Redis.
        os.kill(gunicorn.pid, signal.SIGHUP)
        read_until(gunicorn, "Application startup complete", count=5)
        assert [page_status(address) for _ in range(4)] == [200] * 4
        assert gunicorn.poll() is None and len(workers_of(gunicorn.pid)) == 2

        # Redis returns: sockets work again in every worker, and each worker says it is ready.
        redis_server, _ = start_redis(tmp_path, redis_port)
        assert asyncio.run(chat_reaches_everyone(address)) == ["back"] * 6
        read_until(gunicorn, "Ready again", count=2, timeout=40)
    finally:
        output = stop(gunicorn)
        stop(redis_server)
    assert "Not ready: (channel_layers.E001) The channel layer cannot reach Redis" in output, output
    assert "Traceback" not in output and "Worker failed to boot" not in output, output


@pytest.mark.redis
def test_uvicorn_starts_without_redis_and_recovers_when_it_comes(project, tmp_path):
    redis_port = free_port()
    server, address = start_uvicorn(project, baked_env(REDIS_URL=f"redis://127.0.0.1:{redis_port}/0"))
    redis_server = None
    try:
        assert page_status(address) == 200
        assert asyncio.run(socket_close_code(address)) == TRY_AGAIN_LATER
        redis_server, _ = start_redis(tmp_path, redis_port)
        assert asyncio.run(chat_reaches_everyone(address, sockets=3)) == ["back"] * 3
        read_until(server, "Ready again", timeout=40)
    finally:
        output = stop(server)
        if redis_server is not None:
            stop(redis_server)
    assert f"Not ready: (channel_layers.E001) The channel layer cannot reach Redis at 127.0.0.1:{redis_port}" in output
    assert "Traceback" not in output, output


def probe(address, path):
    """(status, JSON body, seconds taken) of GET `path`, as a health check sees it."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body), time.monotonic() - started


def probe_timeout(project):
    """The bake's PROBE_TIMEOUT_SECONDS: how long /readyz gives each dependency."""
    health = next(project.glob("*/health.py")).read_text()
    return float(re.search(r"^PROBE_TIMEOUT_SECONDS = (\d+)", health, re.MULTILINE).group(1))


READY, ALIVE = (200, {"status": "ready"}), (200, {"status": "ok"})


def assert_unready(address, dependency, named, timeout, times):
    """/readyz answers 503 naming only `dependency` (its reason holding `named`) within `timeout` s, `times` times
    in a row, while /healthz stays 200."""
    for _ in range(times):
        status, body, took = probe(address, "/readyz")
        assert status == 503 and body["status"] == "unready" and list(body["failed"]) == [dependency], body
        assert named in body["failed"][dependency], body
        assert took < timeout, took
    assert [probe(address, "/healthz")[:2] for _ in range(times)] == [ALIVE] * times


def assert_ready_again(address, what, times):
    """/readyz turns 200 by itself within 10 s of `what` coming back, and stays 200 `times` times in a row."""
    back = time.monotonic()
    wait_until(lambda: probe(address, "/readyz")[0] == 200, timeout=10, what=f"/readyz after {what} returned")
    assert time.monotonic() - back < 10
    assert [probe(address, "/readyz")[:2] for _ in range(times)] == [READY] * times


@pytest.mark.redis
def test_readyz_follows_redis_within_its_timeout_while_healthz_stays_up(project, tmp_path):
    timeout = probe_timeout(project)
    redis_port = free_port()
    redis_server, url = start_redis(tmp_path, redis_port)
    gunicorn, address = start_gunicorn(project, baked_env(REDIS_URL=url), workers=2)
    try:
        assert page_status(address) == 200
        assert [probe(address, "/readyz")[:2] for _ in range(4)] == [READY] * 4

        # Redis stopped: refused at once, so every worker says so in well under the timeout.
        stop(redis_server)
        assert_unready(address, "channel_layer", f"127.0.0.1:{redis_port}", timeout, times=4)

        redis_server, _ = start_redis(tmp_path, redis_port)
        assert_ready_again(address, "Redis", times=4)

        # Redis hung (SIGSTOP: connections open, no answers): /readyz gives up after its timeout, not later.
        os.kill(redis_server.pid, signal.SIGSTOP)
        try:
            status, body, took = probe(address, "/readyz")
            assert status == 503 and body["failed"] == {"channel_layer": f"no answer within {timeout:g} s"}, body
            assert timeout <= took < timeout + 1.5, took
            status, body, took = probe(address, "/healthz")
            assert (status, body) == ALIVE and took < 1, took
        finally:
            os.kill(redis_server.pid, signal.SIGCONT)
        wait_until(lambda: probe(address, "/readyz")[0] == 200, timeout=10, what="/readyz after Redis answered")
    finally:
        output = stop(gunicorn)
        stop(redis_server)
    assert "Not ready:" in output and "Ready again: the channel layer answers." in output, output
    assert "Traceback" not in output, output
    # The access log is on (the page is in it) but leaves the probes out (deploy/gunicorn.conf.py).
    assert '"GET /chat/lobby/ HTTP/1.1" 200' in output, output
    assert "/readyz" not in output and "/healthz" not in output, output


def blocked_receivers(url):
    """How many clients of the Redis at `url` wait in BZPOPMIN (channels-redis's receive): workers listening."""
    try:
        with redis.Redis.from_url(url, socket_timeout=2) as client:
            return sum(1 for entry in client.client_list() if entry.get("cmd") == "bzpopmin")
    except redis.RedisError:
        return 0


@pytest.mark.redis
def test_runworker_waits_for_redis_and_reconnects_after_a_restart(project, tmp_path):
    redis_port = free_port()
    url = f"redis://127.0.0.1:{redis_port}/0"
    worker = spawn(project, "python", "manage.py", "runworker", "tasks", env=baked_env(REDIS_URL=url))
    redis_server = None
    try:
        read_until(worker, "Waiting for it")
        redis_server, _ = start_redis(tmp_path, redis_port)
        read_until(worker, "Ready again")
        wait_until(lambda: blocked_receivers(url) > 0, what="the worker to listen")

        stop(redis_server)
        read_until(worker, "Waiting for it", count=2)
        assert worker.poll() is None, "runworker exited when Redis went away"
        redis_server, _ = start_redis(tmp_path, redis_port)
        read_until(worker, "Ready again", count=2)
        wait_until(lambda: blocked_receivers(url) > 0, what="the worker to listen again")
        assert worker.poll() is None
    finally:
        output = stop(worker)
        if redis_server is not None:
            stop(redis_server)
    assert "Traceback" not in output, output


def test_a_management_command_that_pushes_says_in_one_line_that_redis_is_away(project):
    env = baked_env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(AssertionError) as failed:
        run_in(project, "python", "manage.py", "notify", "--all", "hello", env=env, timeout=60)
    assert "Cannot reach Redis" in str(failed.value) and "Traceback" not in str(failed.value)


def unit_sections(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(path.read_text())
    return parser


def seconds(value):
    return float(value.removesuffix("s"))


def test_systemd_units_keep_restarting_through_a_redis_restart(project):
    units = sorted((project / "deploy" / "systemd").glob("*.service"))
    slug = project.name
    assert {path.name for path in units} == {f"{slug}-web.service", f"{slug}-worker@.service", f"{slug}-jobs.service"}
    for path in units:
        unit = unit_sections(path)
        # systemd's defaults (100 ms between restarts, at most 5 starts in 10 s) give up within a second.
        restart = seconds(unit["Service"]["RestartSec"])
        interval = seconds(unit["Unit"]["StartLimitIntervalSec"])
        burst = int(unit["Unit"]["StartLimitBurst"])
        assert unit["Service"]["Restart"] in {"on-failure", "always"}
        # Even if every start failed at once, no interval would hold more starts than the burst allows: the
        # unit outlives a Redis restart of a minute, or of any length.
        assert interval / restart + 1 <= burst, path.name
        assert restart <= 10, f"{path.name}: the service would stay down long after Redis is back"


def test_compose_services_restart_without_giving_up(project):
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    for name, service in services.items():
        assert service.get("restart") in {"always", "unless-stopped"}, name
