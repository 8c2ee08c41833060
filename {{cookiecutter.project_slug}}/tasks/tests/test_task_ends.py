"""Every task a page was told is "queued" ends done, failed, lost or expired: the socket that queued it reports
"expired" when no worker took it, "lost" when its worker stopped reporting, within TASK_SILENCE_SECONDS of the
last word of it (shortened here), frees its slot, and logs one line; a worker never runs such a task later."""

import asyncio
import logging
import time

import pytest

from .. import jobs
from ..consumers import EXPIRED, LOST

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 30  # seconds: a bound on hanging, never a wait
SILENCE = 0.5  # TASK_SILENCE_SECONDS in these tests
LATE = 1.5  # seconds past the bound that a busy test machine may take to deliver the news


async def until_ended(socket):
    updates = [await socket.receive_json_from(timeout=WAIT)]
    while updates[-1]["status"] not in {"done", "failed", "lost", "expired"}:
        updates.append(await socket.receive_json_from(timeout=WAIT))
    return updates


async def test_a_task_no_worker_takes_ends_expired_and_never_runs(
    start_worker, connect, make_user, session_headers, settings, monkeypatch, caplog, drain
):
    monkeypatch.setattr(jobs, "STEP_SECONDS", 0.01)
    settings.TASK_SILENCE_SECONDS, settings.TASKS_PER_USER = SILENCE, 1
    caplog.set_level(logging.INFO, "tasks.consumers")
    headers = await session_headers(await make_user("alice"))
    socket, other_tab = await connect("/ws/tasks/", headers=headers), await connect("/ws/tasks/", headers=headers)
    await socket.send_json_to({"start": {"steps": 1}})
    queued = await socket.receive_json_from(timeout=WAIT)
    told = time.monotonic()
    expired = {"task": queued["task"], "status": "expired", "steps": 1, "error": EXPIRED}
    assert await socket.receive_json_from(timeout=WAIT) == expired
    assert time.monotonic() - told < SILENCE + LATE
    assert await other_tab.receive_json_from(timeout=WAIT) == expired
    assert f"Task {queued['task']} of user" in caplog.text and "expired: no word of it for 0.5 s" in caplog.text
    assert "Traceback" not in caplog.text

    # Its slot is free again (the limit is 1), and the worker that comes now drops the expired job unrun.
    start_worker()
    await socket.send_json_to({"start": {"steps": 1}})
    updates = await until_ended(socket)
    assert [u["status"] for u in updates] == ["queued", "running", "done"]
    assert queued["task"] not in {u["task"] for u in updates}
    assert "was reported expired or lost before a worker took it: dropped" in caplog.text


async def test_a_task_whose_worker_stops_past_its_grace_ends_lost(
    start_worker, connect, make_user, session_headers, settings, monkeypatch, caplog, drain
):
    monkeypatch.setattr(jobs, "STEP_SECONDS", 0.05)
    settings.TASK_SILENCE_SECONDS = SILENCE
    caplog.set_level(logging.INFO, "tasks.consumers")
    worker = start_worker(grace=0)
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("alice")))
    await socket.send_json_to({"start": {"steps": 20}})
    assert (await socket.receive_json_from(timeout=WAIT))["status"] == "queued"
    running = await socket.receive_json_from(timeout=WAIT)
    assert running["status"] == "running"
    # As SIGTERM does in runworker: no grace left, so the job goes back to the layer, where no worker takes it.
    worker.stop()
    await asyncio.wait_for(worker.task, WAIT)
    stopped = time.monotonic()
    updates = await until_ended(socket)
    assert updates[-1] == {"task": running["task"], "status": "lost", "steps": 20, "error": LOST}
    assert time.monotonic() - stopped < SILENCE + LATE
    assert "lost: no word of it for 0.5 s" in caplog.text

    # A worker started later finds the handed-back job and drops it: its page has been told it is lost.
    start_worker()
    assert await socket.receive_nothing(timeout=0.5)
    assert "dropped" in caplog.text


@pytest.mark.redis
async def test_a_task_whose_runworker_is_killed_ends_lost(runworker, connect, make_user, session_headers, settings):
    settings.TASK_SILENCE_SECONDS = 2  # a real worker reports every jobs.STEP_SECONDS (0.5 s)
    worker = runworker()
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("alice")))
    await socket.send_json_to({"start": {"steps": 20}})
    assert (await socket.receive_json_from(timeout=WAIT))["status"] == "queued"
    running = await socket.receive_json_from(timeout=WAIT)
    assert running["status"] == "running"
    worker.kill()  # SIGKILL: no grace, no hand-back, nothing said
    worker.wait()
    killed = time.monotonic()
    updates = await until_ended(socket)
    assert updates[-1] == {"task": running["task"], "status": "lost", "steps": 20, "error": LOST}
    assert time.monotonic() - killed < 2 + LATE
