"""Durable jobs (durable.py, the project's db_worker): enqueued from the page's socket, stored in the database, run
by the worker, retried, reclaimed from a dead worker, capped per user; the page gets each state, on open too.

The worker runs here as `db_worker --batch` in a thread: it runs every job that is ready, then returns.
"""

import datetime
import logging

import pytest
import redis
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from {{ cookiecutter.project_slug }} import background, health
from {{ cookiecutter.project_slug }}.consumers import UNAUTHORIZED
from {{ cookiecutter.project_slug }}.management.commands.db_worker import reclaim_stale

from .. import consumers, durable, jobs
from ..models import Job

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 30  # seconds: a bound on hanging, never a wait
PATH = "/ws/tasks/jobs/"


@pytest.fixture(autouse=True)
def fast(monkeypatch, settings):
    """Steps of 10 ms, retries at once; the in-memory layer's polling off, so every frame is a push."""
    monkeypatch.setattr(jobs, "STEP_SECONDS", 0.01)
    monkeypatch.setattr(consumers, "POLL_SECONDS", 3600)
    settings.TASKS_JOB_RETRY_SECONDS = 0


async def run_worker():
    """Run every job that is ready, as `manage.py db_worker --batch` does."""
    await sync_to_async(call_command)("db_worker", "--batch", "--no-startup-delay", "--interval", "0")


async def frames_until_ended(socket, job=None):
    frames = []
    while not frames or frames[-1]["status"] not in {"done", "failed"}:
        frame = await socket.receive_json_from(timeout=WAIT)
        if job is None or frame.get("job") == job:
            frames.append(frame)
    return frames


def seen(frames):
    return [(frame["status"], frame["step"], frame["attempt"]) for frame in frames]


async def test_anonymous_sockets_are_closed_with_4401(connect):
    socket = await connect(PATH)
    assert await socket.receive_output() == {"type": "websocket.close", "code": UNAUTHORIZED}


async def test_a_job_is_queued_then_run_by_the_worker_and_every_tab_of_the_user_sees_it(
    connect, make_user, session_headers
):
    alice, bob = await make_user("alice"), await make_user("bob")
    tab1 = await connect(PATH, headers=await session_headers(alice))
    tab2 = await connect(PATH, headers=await session_headers(alice))
    bob_tab = await connect(PATH, headers=await session_headers(bob))
    await tab1.send_json_to({"start": {"steps": 2}})
    queued = await tab1.receive_json_from(timeout=WAIT)
    assert queued == {**queued, "status": "queued", "step": 0, "steps": 2, "attempt": 0, "attempts": 3}
    # Queued means stored: nothing has run it yet.
    result = await DBTaskResult.objects.aget(pk=queued["job"])
    assert result.status == background.TaskResultStatus.READY
    await run_worker()
    expected = [("queued", 0, 0), ("running", 0, 1), ("running", 1, 1), ("running", 2, 1), ("done", 2, 1)]
    assert [("queued", 0, 0), *seen(await frames_until_ended(tab1))] == expected
    assert seen(await frames_until_ended(tab2)) == expected
    assert await bob_tab.receive_nothing()


async def test_a_page_that_opens_gets_each_job_where_it_stands(connect, make_user, session_headers):
    alice = await make_user("alice")
    done = await sync_to_async(durable.enqueue)(alice.pk, 1, None)
    await run_worker()
    queued = await sync_to_async(durable.enqueue)(alice.pk, 3, None)
    socket = await connect(PATH, headers=await session_headers(alice))
    first, second = await socket.receive_json_from(), await socket.receive_json_from()
    assert (first["job"], first["status"], first["step"]) == (done["job"], "done", 1)
    assert (second["job"], second["status"], second["step"]) == (queued["job"], "queued", 0)
    assert await socket.receive_nothing()


async def test_a_failing_job_is_retried_then_failed_with_a_generic_line(
    connect, make_user, session_headers, settings, caplog
):
    settings.TASKS_JOB_ATTEMPTS = 2
    socket = await connect(PATH, headers=await session_headers(await make_user("alice")))
    await socket.send_json_to({"start": {"steps": 2, "fail_at": 2}})
    await socket.receive_json_from(timeout=WAIT)  # queued
    await run_worker()
    frames = await frames_until_ended(socket)
    assert seen(frames) == [
        ("running", 0, 1),
        ("running", 1, 1),
        ("retrying", 1, 1),
        ("running", 1, 2),  # the second attempt resumes after the last step recorded
        ("failed", 1, 2),
    ]
    # The page gets a generic line; the detail is in the worker's log.
    assert frames[-1]["error"] == durable.FAILED and "step 2" not in frames[-1]["error"]
    assert "step 2 of 2 failed" in caplog.text and "failed on its last attempt (2)" in caplog.text


async def test_the_page_names_a_job_by_the_id_the_worker_logs(connect, make_user, session_headers, settings, caplog):
    """The page's job id is the one the worker's log lines name, so that "the details are in the log" can be
    followed."""
    settings.TASKS_JOB_ATTEMPTS = 1
    socket = await connect(PATH, headers=await session_headers(await make_user("alice")))
    await socket.send_json_to({"start": {"steps": 1, "fail_at": 1}})
    job = (await socket.receive_json_from(timeout=WAIT))["job"]
    await run_worker()
    assert (await frames_until_ended(socket))[-1]["status"] == "failed"
    assert f"Job {job} failed on its last attempt" in caplog.text


async def test_a_job_goes_on_while_redis_is_unreachable_and_its_loss_is_logged_once(make_user, monkeypatch, caplog):
    """Progress pushes are best effort: the first three fail as on a lost Redis, the job still ends done on its
    first attempt, with one line for the loss and one for the recovery."""
    monkeypatch.setattr(health, "_unready", {})
    pushes = []

    async def apush(group, payload):
        pushes.append(payload)
        if len(pushes) <= 3:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(durable, "apush", apush)
    job = await sync_to_async(durable.enqueue)((await make_user("alice")).pk, 3, None)
    await run_worker()
    result = await DBTaskResult.objects.aget(pk=job["job"])
    assert result.status == background.TaskResultStatus.SUCCESSFUL and len(result.worker_ids) == 1
    assert pushes[-1]["status"] == "done"
    assert caplog.text.count("Not ready: the channel layer cannot reach Redis") == 1, caplog.text
    assert caplog.text.count("Ready again: the channel layer answers") == 1, caplog.text
    assert "Traceback" not in caplog.text


async def test_a_job_whose_worker_died_runs_again_and_resumes_after_its_last_step(
    connect, make_user, session_headers, settings
):
    """At least once: a job left running (its worker was SIGKILLed after recording step 2) is queued again once
    stale, and its next run counts from step 3, so no step is done twice."""
    alice = await make_user("alice")
    job = await sync_to_async(durable.enqueue)(alice.pk, 4, None)

    def die_after_step_2():
        result = DBTaskResult.objects.get(pk=job["job"])
        result.claim("killed-worker")
        stale = timezone.now() - datetime.timedelta(seconds=settings.TASKS_JOB_STALE_SECONDS + 1)
        DBTaskResult.objects.filter(pk=result.pk).update(started_at=stale)
        Job.objects.filter(result_id=job["job"]).update(step=2)

    await sync_to_async(die_after_step_2)()
    socket = await connect(PATH, headers=await session_headers(alice))
    assert (await socket.receive_json_from())["status"] == "running"
    assert await sync_to_async(reclaim_stale)("default") == 1
    await run_worker()
    assert seen(await frames_until_ended(socket)) == [
        ("retrying", 2, 1),
        ("running", 2, 2),
        ("running", 3, 2),
        ("running", 4, 2),
        ("done", 4, 2),
    ]


async def test_a_job_whose_worker_died_on_its_last_attempt_fails(connect, make_user, session_headers, settings):
    settings.TASKS_JOB_ATTEMPTS = 1
    alice = await make_user("alice")
    job = await sync_to_async(durable.enqueue)(alice.pk, 2, None)

    def die():
        result = DBTaskResult.objects.get(pk=job["job"])
        result.claim("killed-worker")
        DBTaskResult.objects.filter(pk=result.pk).update(started_at=timezone.now() - datetime.timedelta(days=1))

    await sync_to_async(die)()
    socket = await connect(PATH, headers=await session_headers(alice))
    await socket.receive_json_from()  # running
    assert await sync_to_async(reclaim_stale)("default") == 1
    assert (await socket.receive_json_from(timeout=WAIT))["status"] == "failed"


async def test_a_job_still_running_within_the_stale_time_is_left_to_its_worker(make_user):
    alice = await make_user("alice")
    job = await sync_to_async(durable.enqueue)(alice.pk, 2, None)
    result = await DBTaskResult.objects.aget(pk=job["job"])
    await sync_to_async(result.claim)("busy-worker")
    assert await sync_to_async(reclaim_stale)("default") == 0


async def test_the_job_is_idempotent(make_user):
    """Run twice (at least once means it may be), it records the same: each step once."""
    alice = await make_user("alice")
    job = await sync_to_async(durable.enqueue)(alice.pk, 3, None)
    await run_worker()
    result = await DBTaskResult.objects.aget(pk=job["job"])
    context = background.TaskContext(task_result=await sync_to_async(lambda: result.task_result)())
    assert await durable.count_durably.func(context, str((await Job.objects.aget(result_id=job["job"])).pk)) == 3
    assert (await Job.objects.aget(result_id=job["job"])).step == 3


async def test_past_the_limit_the_page_is_told_so_and_nothing_is_queued(connect, make_user, session_headers, settings):
    settings.JOBS_PER_USER = 2
    alice = await connect(PATH, headers=await session_headers(await make_user("alice")))
    for _ in range(3):
        await alice.send_json_to({"start": {"steps": 1}})
    answers = [await alice.receive_json_from(timeout=WAIT) for _ in range(3)]
    # The error answers this socket; "queued" goes through the user's group (on Redis it may come later).
    assert sorted(answer.get("status", "") for answer in answers) == ["", "queued", "queued"]
    assert {"error": durable.FULL.format(2)} in answers
    assert await Job.objects.acount() == 2
    bob = await connect(PATH, headers=await session_headers(await make_user("bob")))
    await bob.send_json_to({"start": {"steps": 1}})
    assert (await bob.receive_json_from(timeout=WAIT))["status"] == "queued"
    # Ended jobs count no more.
    await run_worker()
    await alice.send_json_to({"start": {"steps": 1}})
    frame = {}
    while frame.get("status") != "queued" and "error" not in frame:
        frame = await alice.receive_json_from(timeout=WAIT)
    assert frame["status"] == "queued"


@pytest.mark.memory_layer
async def test_on_the_in_memory_layer_the_page_reads_what_another_process_did(
    connect, make_user, session_headers, monkeypatch
):
    """The worker is another process, whose pushes never reach an in-memory layer: the page polls instead."""
    monkeypatch.setattr(consumers, "POLL_SECONDS", 0.05)
    alice = await make_user("alice")
    job = await sync_to_async(durable.enqueue)(alice.pk, 1, None)
    socket = await connect(PATH, headers=await session_headers(alice))
    assert (await socket.receive_json_from())["status"] == "queued"
    await Job.objects.filter(result_id=job["job"]).aupdate(step=1)  # as a worker elsewhere would
    frame = await socket.receive_json_from(timeout=WAIT)
    assert (frame["status"], frame["step"]) == ("queued", 1)


@pytest.mark.memory_layer
async def test_on_the_in_memory_layer_a_failed_read_is_logged_once_and_the_page_still_gets_updates(
    connect, make_user, session_headers, monkeypatch, caplog
):
    """The database going away for a while (PostgreSQL restarting, a long SQLite lock) costs one log line; the
    socket goes on polling and sends what changed once the database answers."""
    caplog.set_level(logging.INFO, "tasks.consumers")
    monkeypatch.setattr(consumers, "POLL_SECONDS", 0.01)
    alice = await make_user("alice")
    job = await sync_to_async(durable.enqueue)(alice.pk, 1, None)
    socket = await connect(PATH, headers=await session_headers(alice))
    assert (await socket.receive_json_from())["status"] == "queued"
    latest, reads = durable.latest, []

    def restarting(user):
        reads.append(user)
        if len(reads) <= 5:
            raise OperationalError("server closed the connection unexpectedly\n\tThis probably means ...")
        return latest(user)

    monkeypatch.setattr(durable, "latest", restarting)
    await Job.objects.filter(result_id=job["job"]).aupdate(step=1)  # as a worker elsewhere would
    frame = await socket.receive_json_from(timeout=WAIT)
    assert (frame["status"], frame["step"]) == ("queued", 1)
    lines = [record for record in caplog.records if record.name == "tasks.consumers"]
    assert [record.levelno for record in lines] == [logging.WARNING, logging.INFO]
    assert lines[0].getMessage() == (
        f"Jobs page of user {alice.pk} cannot read its jobs (OperationalError: server closed the connection "
        "unexpectedly This probably means ...); it keeps trying."
    )
    assert lines[0].exc_info is None and lines[1].getMessage() == f"Jobs page of user {alice.pk} reads its jobs again."


@pytest.mark.parametrize("frame", [{"start": {"steps": 0}}, {"start": {"steps": 3, "fail_at": 4}}, {"begin": {}}])
async def test_a_bad_start_frame_gets_an_error_and_starts_nothing(connect, make_user, session_headers, frame):
    socket = await connect(PATH, headers=await session_headers(await make_user("alice")))
    await socket.send_json_to(frame)
    assert set(await socket.receive_json_from()) == {"error"}
    assert await socket.receive_nothing()
    assert await Job.objects.acount() == 0


def test_the_page_needs_a_login_and_renders(client, django_user_model):
    assert client.get("/tasks/jobs/").status_code == 302
    client.force_login(django_user_model.objects.create_user("alice"))
    response = client.get("/tasks/jobs/")
    assert response.status_code == 200 and b"jobs.js" in response.content


def test_the_home_page_links_the_jobs_page(client):
    assert 'href="/tasks/jobs/"' in client.get("/").content.decode()
