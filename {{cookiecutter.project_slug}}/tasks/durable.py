"""The demo's durable job: the same slow count as jobs.py, enqueued through Django's Tasks API (background.py),
stored in the database and run by `manage.py db_worker`, its progress pushed to every tab of its user.

Unlike the channel worker's tasks (consumers.TaskWorker: at most once), a job is never lost: one enqueued while no
worker runs starts when one does; one whose worker was killed runs again (it resumes after the last step it
recorded); one that raises is retried (settings.TASKS_JOB_ATTEMPTS in all), then ends failed.

Its progress is pushed at best: with Redis away the job goes on (one line logs the loss, one the recovery), and a
page that reconnects reads each job's state from the database. A job is known by its task result's id, on the
page and in the worker's log lines alike.

Idempotent, as a job run at least once must be: each step is recorded once (a step run twice records the same
thing), and a second run starts after the last step recorded.
"""

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from {{ cookiecutter.project_slug }} import background, health
from {{ cookiecutter.project_slug }}.push import apush, user_group

from . import jobs
from .models import Job

TOPIC = "jobs"
JOBS_PER_USER = 10  # jobs queued, retrying or running per user (settings.JOBS_PER_USER)
SHOWN = 20  # the user's latest jobs a page gets when it opens
# What the page shows for a failed job; the traceback is in the log of the worker that ran it.
FAILED = "The job failed on every attempt. The details are in the log of the process that ran it (db_worker)."
FULL = "You have {} jobs queued or running, the most allowed: start another one once one of them has ended."
STATUSES: dict[str, str] = {
    background.TaskResultStatus.READY: "queued",
    background.TaskResultStatus.RUNNING: "running",
    background.TaskResultStatus.SUCCESSFUL: "done",
    background.TaskResultStatus.FAILED: "failed",
}
ACTIVE = [background.TaskResultStatus.READY, background.TaskResultStatus.RUNNING]

logger = logging.getLogger(__name__)


@background.task(takes_context=True)  # type: ignore[untyped-decorator,unused-ignore]  # untyped on Django 5.2
async def count_durably(context: "background.TaskContext[Any, Any]", job_id: str) -> int:
    """Count the job's steps from the one after the last recorded, pushing each; raise jobs.JobFailed at its
    `fail_at` step. Returns the number of steps."""
    job = await Job.objects.aget(pk=job_id)
    logger.info(
        "Job %s: attempt %s of %s, from step %s.",
        context.task_result.id,
        context.attempt,
        background.attempts(),
        job.step,
    )
    await apush_state(job_id)
    for step in range(job.step + 1, job.steps + 1):
        await asyncio.sleep(jobs.STEP_SECONDS)
        if step == job.fail_at:
            raise jobs.JobFailed(f"step {step} of {job.steps} failed (the demo was asked to fail there)")
        # A second run of a step changes nothing: the record only moves forward.
        await Job.objects.filter(pk=job_id, step__lt=step).aupdate(step=step)
        await apush_state(job_id)
    return job.steps


def limit() -> int:
    """How many jobs a user may have queued or running: settings.JOBS_PER_USER, by default JOBS_PER_USER."""
    return int(getattr(settings, "JOBS_PER_USER", JOBS_PER_USER))


def enqueue(user_id: int, steps: int, fail_at: int | None) -> dict[str, Any] | None:
    """Record a job for `user_id` and enqueue it, in one transaction (a worker sees both or neither); returns its
    state (state()), or None when the user already has limit() jobs queued or running."""
    with transaction.atomic():
        # Locking the user's row makes two tabs starting jobs at once count one after the other (PostgreSQL; on
        # SQLite the IMMEDIATE transaction does).
        get_user_model().objects.select_for_update().filter(pk=user_id).first()
        if Job.objects.filter(user_id=user_id, result__status__in=ACTIVE).count() >= limit():
            return None
        job = Job.objects.create(user_id=user_id, steps=steps, fail_at=fail_at)
        result = count_durably.enqueue(str(job.pk))
        job.result_id = result.id
        job.save(update_fields=["result"])
        job = Job.objects.select_related("result").get(pk=job.pk)
    return state(job)


def state(job: Job) -> dict[str, Any]:
    """The frame the page gets for `job` (its result selected): where it stands, from the database."""
    assert job.result is not None  # enqueue() sets it in the transaction that creates the job
    status, attempt = STATUSES[job.result.status], len(job.result.worker_ids)
    if status == "queued" and attempt:
        status = "retrying"  # an attempt failed (or its worker died); the next waits in the queue
    frame = {
        "job": str(job.result_id),  # the id the worker's log lines name
        "status": status,
        "step": job.step,
        "steps": job.steps,
        "attempt": attempt,
        "attempts": background.attempts(),
    }
    if status == "failed":
        frame["error"] = FAILED
    return frame


def latest(user_id: int) -> list[dict[str, Any]]:
    """The states of the user's latest SHOWN jobs, oldest first."""
    jobs_ = Job.objects.filter(user_id=user_id, result__isnull=False).select_related("result")[:SHOWN]
    return [state(job) for job in reversed(jobs_)]


def push_state(job_id: str) -> None:
    """Push the job's state from the database to every tab of its user, at best (apush_state())."""
    async_to_sync(apush_state)(job_id)


async def apush_state(job_id: str) -> None:
    """Push the job's state from the database to every tab of its user. At best: while Redis is unreachable the
    push is dropped, its loss and its recovery logged once each (health.report()); the page reads the state from
    the database when it reconnects."""
    job = await Job.objects.select_related("result").filter(pk=job_id).afirst()
    if job is None or job.result is None:
        return
    try:
        await apush(user_group(TOPIC, job.user_id), state(job))
    except health.unreachable_errors() as error:
        health.report_redis_error(error)
        return
    health.report(health.CHANNEL_LAYER, None)


def on_change(sender: Any, task_result: "background.TaskResult[Any, Any]", **kwargs: Any) -> None:
    """task_retrying and task_finished (sent by db_worker): push this demo's job's new state."""
    if task_result.task.module_path == count_durably.module_path:
        push_state(task_result.args[0])


def connect_signals() -> None:
    """Called by TasksConfig.ready()."""
    background.task_retrying.connect(on_change, dispatch_uid="tasks.durable")
    background.task_finished.connect(on_change, dispatch_uid="tasks.durable")
