"""The tasks worker under a flood and across a restart: it holds one job at a time, so the layer's capacity fills
and the page is told "Too many tasks are waiting"; on SIGTERM it finishes the running task."""

import asyncio
import signal

import pytest
from channels.layers import get_channel_layer
from channels.testing import ApplicationCommunicator

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.layers import is_in_memory
from {{ cookiecutter.project_slug }}.layers.worker import BoundedWorker

from .. import jobs
from ..consumers import WORKER_CHANNEL

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 30  # seconds: a bound on hanging


@pytest.fixture
async def server(monkeypatch):
    """The server's lifespan (the in-process worker on the in-memory layer), or with Redis the worker
    runworker runs."""
    monkeypatch.setattr(jobs, "STEP_SECONDS", 0.05)
    lifespan = ApplicationCommunicator(application, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await lifespan.send_input({"type": "lifespan.startup"})
    assert await lifespan.receive_output(timeout=WAIT) == {"type": "lifespan.startup.complete"}
    worker = None
    if not is_in_memory():
        worker = BoundedWorker(application, [WORKER_CHANNEL], get_channel_layer())
        task = asyncio.create_task(worker.arun())
    yield
    layer = get_channel_layer()
    while True:  # what the flood left waiting
        try:
            await asyncio.wait_for(layer.receive(WORKER_CHANNEL), 0.2)
        except TimeoutError:
            break
    if worker:
        worker.stop()
        await asyncio.wait_for(task, WAIT)
    await lifespan.send_input({"type": "lifespan.shutdown"})
    assert await lifespan.receive_output(timeout=WAIT) == {"type": "lifespan.shutdown.complete"}


async def test_a_flood_of_tasks_is_told_too_many_are_waiting(server, connect, make_user, session_headers, settings):
    settings.TASKS_PER_USER = 1000  # the layer's bound, not the user's (test_per_user_limit.py)
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("flooder")))
    layer = get_channel_layer()
    frames = layer.capacity + 30
    for _ in range(frames):
        await socket.send_json_to({"start": {"steps": 20}})
    errors = queued = 0
    while errors + queued < frames:
        answer = await socket.receive_json_from(timeout=WAIT)
        if answer.get("status") == "queued":
            queued += 1
        elif "error" in answer and "task" not in answer:
            assert "Too many tasks are waiting" in answer["error"]
            errors += 1
    # The worker holds the one it runs; the layer holds `capacity` more; the rest are refused.
    assert errors > 0 and queued <= layer.capacity + 2, (queued, errors)


@pytest.mark.redis
async def test_runworker_finishes_its_running_task_on_sigterm(runworker, connect, make_user, session_headers):
    worker = runworker()
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("restarter")))
    await socket.send_json_to({"start": {"steps": 4}})
    assert (await socket.receive_json_from(timeout=WAIT))["status"] == "queued"
    assert (await socket.receive_json_from(timeout=WAIT))["status"] == "running"
    worker.send_signal(signal.SIGTERM)  # what `systemctl restart` sends
    updates = []
    while not updates or updates[-1]["status"] not in {"done", "failed"}:
        updates.append(await socket.receive_json_from(timeout=WAIT))
    assert updates[-1] == {"task": updates[-1]["task"], "status": "done", "step": 4, "steps": 4}
    assert worker.wait(timeout=WAIT) == 0
    assert "Traceback" not in worker.log.read_text(), worker.log.read_text()
