"""Durable jobs with real processes (the default bake's `tasks` demo, /ws/tasks/jobs/, and `manage.py db_worker`),
one walk per database through one set of processes: a private redis-server, two uvicorn processes and the
workers, on SQLite and on a private PostgreSQL.

The walk: a job started on one server while no worker runs waits, and runs once a worker starts; that worker is
SIGKILLed mid-job and another started, which takes the job back once the dead one's heartbeat is stale and runs
it again from the step after the last one recorded, for longer than the stale time without being taken back
itself (its worker reports); a job that fails every attempt is retried, then ends failed with the generic line
(the detail in the worker's log, under the id the page has); SIGTERM stops an idle worker cleanly; a second
SIGTERM stops a busy one at once, its job left running; past the per-user cap the page gets the error. Every
state reaches a page on the other server process through Redis. On PostgreSQL a worker that loses its database
exits with one line and status 1, for its supervisor to restart it.
"""

import asyncio
import json
import os
import signal

import pytest
import websockets

from .support.bakes import baked_env, run_in
from .support.processes import project_processes, read_until, spawn, start_uvicorn, stop
from .test_database_down import start_postgresql, stop_postgresql
from .test_scale_out import next_json, token_for

pytestmark = pytest.mark.redis

PASSWORD = "a long pw 42"
CREATE_USER = (
    "from django.contrib.auth import get_user_model; "
    f"get_user_model().objects.create_user('jobber', password='{PASSWORD}')"
)
# Short, so that the first job (12 steps of 0.5 s) runs longer than it: only its worker's heartbeat (every 1 s)
# keeps it from being taken back. Not shorter: a loaded machine may pause a worker for a second or two.
STALE_SECONDS = 5
STEPS = 12
ATTEMPTS = 3
WORKER = ["python", "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay", "--concurrency", "2"]
STARTED = "Starting worker worker_id="
WAIT = 30  # seconds: a bound on hanging, never a wait


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request, tmp_path):
    """The environment variables naming a fresh database of that kind (PostgreSQL: a private server's)."""
    if request.param == "sqlite":
        yield {"DATABASE_URL": "", "DJANGO_SQLITE_PATH": str(tmp_path / "jobs.sqlite3")}
        return
    postgresql, url = start_postgresql(tmp_path)
    request.node.postgresql = postgresql
    try:
        yield {"DATABASE_URL": url}
    finally:
        if postgresql.poll() is None:
            stop_postgresql(postgresql)
        project_processes.remove_postgresql_data(tmp_path)


def job_frames(socket, job, until):
    """Frames of `job` from `socket` up to the first that satisfies `until`, in order."""

    async def collect():
        frames = []
        while not frames or not until(frames[-1]):
            frames.append(await next_json(socket, lambda frame: frame.get("job") == job, timeout=WAIT))
        return frames

    return collect()


def test_durable_jobs_survive_a_killed_worker_retry_and_cap_across_server_processes(
    default_bake, database_env, redis_url, request
):
    project = default_bake
    env = baked_env(
        REDIS_URL=redis_url,
        TASKS_JOB_STALE_SECONDS=str(STALE_SECONDS),
        TASKS_JOB_RETRY_SECONDS="1",  # so that "retrying" lasts: a retry taken at once may not show (demo-apps.md)
        TASKS_JOB_ATTEMPTS=str(ATTEMPTS),
        **database_env,
    )
    run_in(project, "python", "manage.py", "migrate", "--verbosity", "0", env=env)
    run_in(project, "python", "manage.py", "shell", "-c", CREATE_USER, env=env)
    servers = [start_uvicorn(project, env) for _ in range(2)]
    first, second = (address for _, address in servers)
    workers = []

    def start_worker():
        worker = spawn(project, *WORKER, env=env)
        workers.append(worker)
        read_until(worker, STARTED, count=2)  # one line per thread
        return worker

    try:
        token = token_for(first, "jobber", PASSWORD)

        async def walk():
            def open_socket(address):
                return websockets.connect(f"ws://{address}/ws/tasks/jobs/?token={token}", origin=f"http://{address}")

            starter, watcher = await open_socket(first), await open_socket(second)

            # Enqueued with no worker running: it waits, queued, in the database.
            await starter.send(json.dumps({"start": {"steps": STEPS}}))
            queued = await next_json(watcher, lambda frame: frame.get("status") == "queued")
            job = queued["job"]

            # A worker starts and runs it; SIGKILLed after its first step, the job stays "running" in the table.
            killed = start_worker()
            before = await job_frames(watcher, job, lambda frame: frame["step"] >= 1)
            os.kill(killed.pid, signal.SIGKILL)
            killed.wait(timeout=WAIT)
            assert before[0]["status"] == "running" and before[0]["attempt"] == 1
            recorded = before[-1]["step"]

            # Another worker takes it back once stale and runs it from the step after the last recorded.
            worker = start_worker()
            after = await job_frames(watcher, job, lambda frame: frame["status"] in {"done", "failed"})
            running = [frame for frame in after if frame["status"] == "running"]
            assert after[-1]["status"] == "done" and after[-1]["step"] == STEPS, after
            assert {frame["attempt"] for frame in running} == {2} and running[0]["step"] >= recorded, after
            steps = [frame["step"] for frame in running]
            assert steps == sorted(set(steps)), f"a step ran twice: {after}"

            # A job that fails on every attempt is retried, then ends failed with the generic line.
            await starter.send(json.dumps({"start": {"steps": 1, "fail_at": 1}}))
            failing = (await next_json(watcher, lambda frame: frame.get("status") == "queued"))["job"]
            frames = await job_frames(watcher, failing, lambda frame: frame["status"] in {"done", "failed"})
            # Ended failed on its last attempt, so retried twice; a push reads the state when it is sent, so a
            # loaded machine may show a later state in place of one "retrying" (never one out of order).
            retried = [frame["attempt"] for frame in frames if frame["status"] == "retrying"]
            assert retried and retried == sorted(set(retried)) and set(retried) <= {1, 2}, frames
            assert frames[-1]["status"] == "failed" and frames[-1]["attempt"] == ATTEMPTS
            assert "log" in frames[-1]["error"] and "step 1" not in frames[-1]["error"]

            # SIGTERM: the worker has nothing running and exits cleanly.
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=WAIT) == 0

            # A second SIGTERM exits at once, not after the running job (20 steps): it is left running at its step.
            busy = start_worker()
            await starter.send(json.dumps({"start": {"steps": 20}}))
            long_job = (await next_json(watcher, lambda frame: frame.get("status") == "queued"))["job"]
            await job_frames(watcher, long_job, lambda frame: frame["step"] >= 1)
            busy.send_signal(signal.SIGTERM)
            read_until(busy, "Received Terminated: finishing")
            busy.send_signal(signal.SIGTERM)
            assert busy.wait(timeout=WAIT) == 1
            assert "Received Terminated again: exiting now" in stop(busy)
            reopened = await open_socket(second)
            left = await next_json(reopened, lambda frame: frame.get("job") == long_job)
            assert left["status"] == "running" and left["step"] < 20, left
            await reopened.close()

            # The cap: the user's queued jobs (no worker runs) count; one more is refused with a sentence.
            for _ in range(10):
                await starter.send(json.dumps({"start": {"steps": 1}}))
            await starter.send(json.dumps({"start": {"steps": 1}}))
            refused = await next_json(starter, lambda frame: "error" in frame and "job" not in frame)
            for socket in (starter, watcher):
                await socket.close()
            return worker, refused, job, failing

        worker, refused, job, failing = asyncio.run(walk())
        assert refused["error"].startswith("You have 10 jobs queued or running"), refused
        log = stop(worker)
        assert "step 1 of 1 failed" in log and f"Job {failing} failed on its last attempt ({ATTEMPTS})" in log, log
        # The dead worker's job, taken back once (the long run that followed was never taken for lost).
        assert log.count("stopped reporting on attempt") == 1 and f"Job {job} stopped reporting on attempt 1" in log

        postgresql = getattr(request.node, "postgresql", None)
        if postgresql is not None:
            # A worker that loses its database (the queued jobs keep it busy) exits with one line, status 1.
            lost = start_worker()
            stop_postgresql(postgresql)
            assert lost.wait(timeout=WAIT) == 1
            printed = stop(lost)
            assert printed.strip().splitlines()[-1].startswith("db_worker stopped: the database is unreachable"), (
                printed
            )
            assert "Traceback" not in printed, printed
    finally:
        for worker in workers:
            stop(worker)
        for process, _ in servers:
            stop(process)
