"""Fixtures of the tasks tests: a worker in the test's event loop, a real `runworker`, and an empty tasks channel."""

import asyncio
import sys
import time
from pathlib import Path

import pytest
from channels.layers import get_channel_layer

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.layers.worker import BoundedWorker
from {{ cookiecutter.project_slug }}.settings import caches_for
from {{ cookiecutter.project_slug }}.testing import processes

from ..consumers import WORKER_CHANNEL

PROJECT_DIR = Path(__file__).resolve().parents[2]
WAIT = 30  # seconds: a bound on hanging, never a wait


@pytest.fixture
async def drain():
    """`await drain()` takes every job waiting on the tasks channel and returns how many it took. It runs at
    teardown too, so no job of this test is left for another test's worker."""

    async def take_all():
        layer, taken = get_channel_layer(), 0
        while True:
            try:
                await asyncio.wait_for(layer.receive(WORKER_CHANNEL), 0.2)
            except TimeoutError:
                return taken
            taken += 1

    yield take_all
    await take_all()


@pytest.fixture
async def start_worker():
    """`start_worker(grace=...)` runs a BoundedWorker on the tasks channel in the test's event loop, as the
    server does on the in-memory layer (and runworker on Redis); returns it. Stopped at teardown."""
    running = []

    def start(**options):
        worker = BoundedWorker(application, [WORKER_CHANNEL], get_channel_layer(), **options)
        worker.task = asyncio.create_task(worker.arun())
        running.append(worker)
        return worker

    yield start
    for worker in running:
        worker.stop()
        await asyncio.wait_for(worker.task, WAIT)


@pytest.fixture
def shared_cache(settings, redis_url):
    """The cache every process of the project uses on this Redis (the one `runworker` and `uvicorn_server`
    use), instead of the test's own: slots taken here are counted there too."""
    settings.CACHES = caches_for([redis_url])


@pytest.fixture
def runworker(process_env, shared_cache, tmp_path):
    """`runworker()` starts `manage.py runworker tasks` on the session's Redis and returns its Popen once it
    listens; its output is in its `.log` (a Path). Killed at teardown if still running."""
    started = []

    def start():
        log = tmp_path / f"runworker-{len(started)}.log"
        # Production logging (DJANGO_DEBUG=false) prints channels' INFO line saying the worker runs.
        env = {**process_env, "DJANGO_DEBUG": "false"}
        command = [sys.executable, "manage.py", "runworker", WORKER_CHANNEL]
        process = processes.launch(command, PROJECT_DIR, env, log=log)
        process.log = log
        started.append(process)
        deadline = time.monotonic() + WAIT
        while "Running worker for channels" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
