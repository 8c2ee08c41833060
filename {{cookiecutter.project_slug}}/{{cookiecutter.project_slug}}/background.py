"""Durable background jobs: Django's Tasks API, stored in the database by django-tasks-db.

Import the Tasks API from here, not from `django.tasks` or `django_tasks`: Django 6 ships it as `django.tasks`,
Django 5.2 (the LTS, on Python 3.11) gets it from the `django-tasks` backport; this module picks the one present.

A job is enqueued with `some_task.enqueue(...)` (or `await some_task.aenqueue(...)`) inside the request or socket
that wants it; it is a row in the database until `manage.py db_worker` (management/commands/db_worker.py) runs it.
The worker runs each job at least once: each db_worker reports that it is alive every few seconds (a heartbeat,
models.WorkerHeartbeat), and a job whose worker has not reported for settings.TASKS_JOB_STALE_SECONDS (it died:
SIGKILL, power loss) is put back in the queue, so a job must be idempotent (running it twice
does no harm). A job that raises is retried up to settings.TASKS_JOB_ATTEMPTS attempts in all, after
settings.TASKS_JOB_RETRY_SECONDS, doubled each time up to a day; then it is marked failed, its traceback in the
worker's log and in the database.

Use a channel worker (`runworker`, docs/workers.md) instead for work that may be lost: it is faster and lighter,
and at most once.
"""

import datetime

import django
from django.conf import settings
from django.dispatch import Signal
from django.utils import timezone

# mypy reads both branches; on each Python one of them is not installed (the ignores name every code either needs).
if django.VERSION >= (6, 0):
    from django.tasks import (  # type: ignore[import-untyped,unused-ignore]
        TaskContext,
        TaskResult,
        TaskResultStatus,
        task,
    )
    from django.tasks.signals import (  # type: ignore[import-untyped,unused-ignore]
        task_enqueued,
        task_finished,
        task_started,
    )
else:  # the backport, installed on Python 3.11 (pyproject.toml)
    from django_tasks import (  # type: ignore[import-not-found,assignment,no-redef,unused-ignore]
        TaskContext,
        TaskResult,
        TaskResultStatus,
        task,
    )
    from django_tasks.signals import (  # type: ignore[import-not-found,assignment,no-redef,unused-ignore]
        task_enqueued,
        task_finished,
        task_started,
    )

__all__ = [
    "TaskContext",
    "TaskResult",
    "TaskResultStatus",
    "task",
    "task_enqueued",
    "task_finished",
    "task_retrying",
    "task_started",
    "attempts",
    "retry_delay",
]

# Sent by the worker when a job that raised goes back into the queue for another attempt: sender is the backend's
# class, `task_result` the job (status READY again), `delay` the seconds before it may run.
task_retrying = Signal()

MAX_RETRY_SECONDS = 24 * 3600  # the longest pause between two attempts of a job, whatever the settings


def attempts() -> int:
    """How many times a job is run at most before it is marked failed: settings.TASKS_JOB_ATTEMPTS."""
    return int(settings.TASKS_JOB_ATTEMPTS)


def retry_delay(attempt: int) -> datetime.timedelta:
    """How long a job waits after its `attempt`-th failed attempt: TASKS_JOB_RETRY_SECONDS, doubled each time,
    at most MAX_RETRY_SECONDS. Uncapped, 100 attempts an hour apart would wait 2 ** 98 hours, past any date."""
    doublings = min(attempt - 1, MAX_RETRY_SECONDS.bit_length())  # enough to pass the cap; keeps the int small
    return datetime.timedelta(seconds=min(settings.TASKS_JOB_RETRY_SECONDS * 2**doublings, MAX_RETRY_SECONDS))


def stale_before() -> datetime.datetime:
    """A worker whose last heartbeat is older than this is taken for dead, and its running jobs are run again
    (TASKS_JOB_STALE_SECONDS)."""
    return timezone.now() - datetime.timedelta(seconds=settings.TASKS_JOB_STALE_SECONDS)


def heartbeat_seconds() -> float:
    """How often a db_worker reports that it is alive: a fifth of TASKS_JOB_STALE_SECONDS, so that a worker that is
    only slow for a beat or two is not taken for dead."""
    return float(settings.TASKS_JOB_STALE_SECONDS) / 5
