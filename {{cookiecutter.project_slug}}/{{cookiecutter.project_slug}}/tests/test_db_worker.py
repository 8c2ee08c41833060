"""manage.py db_worker (background.py's durable jobs): retries a job that raises, fails it after its last attempt,
puts back a job whose worker died, and stops with one line on a database it cannot use.

The worker runs as `db_worker --batch` in the test's process: every job that is ready, then it returns.
"""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from {{ cookiecutter.project_slug }} import background
from {{ cookiecutter.project_slug }}.management.commands.db_worker import Command, beat, reclaim_stale
from {{ cookiecutter.project_slug }}.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)
PROJECT_DIR = Path(__file__).resolve().parents[2]
CALLS: dict[str, int] = {}


@background.task()  # type: ignore[untyped-decorator,unused-ignore]  # untyped on Django 5.2
def fails_until(key: str, failures: int) -> int:
    """Raises on its first `failures` calls for `key`, then returns the number of calls."""
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] <= failures:
        raise RuntimeError(f"call {CALLS[key]} of {key} failed")
    return CALLS[key]


@pytest.fixture(autouse=True)
def retry_at_once(settings):
    settings.TASKS_JOB_RETRY_SECONDS = 0
    settings.TASKS_JOB_ATTEMPTS = 3
    CALLS.clear()


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")


def stored(result):
    return DBTaskResult.objects.get(pk=result.id)


def test_a_job_that_raises_is_retried_until_it_succeeds(caplog):
    result = fails_until.enqueue("twice", 2)
    run_worker()
    row = stored(result)
    assert row.status == background.TaskResultStatus.SUCCESSFUL and row.return_value == 3
    assert len(row.worker_ids) == 3  # one claim per attempt
    assert "failed on attempt 1 of 3; retrying" in caplog.text and "call 1 of twice failed" in caplog.text


def test_a_job_that_always_raises_ends_failed_after_its_last_attempt(caplog):
    result = fails_until.enqueue("always", 10)
    run_worker()
    row = stored(result)
    assert row.status == background.TaskResultStatus.FAILED and len(row.worker_ids) == 3
    assert "call 3 of always failed" in row.traceback
    assert "failed on its last attempt (3)" in caplog.text
    assert CALLS["always"] == 3


# The largest values settings.py accepts: every pause they give fits in a date.
MOST_ATTEMPTS, LONGEST_RETRY_SECONDS = 100, 3600


def test_the_pause_doubles_up_to_a_day_even_with_the_largest_settings(settings):
    settings.TASKS_JOB_ATTEMPTS, settings.TASKS_JOB_RETRY_SECONDS = MOST_ATTEMPTS, LONGEST_RETRY_SECONDS
    pauses = [background.retry_delay(attempt) for attempt in range(1, MOST_ATTEMPTS)]
    hour = datetime.timedelta(hours=1)
    assert pauses[:5] == [hour, 2 * hour, 4 * hour, 8 * hour, 16 * hour]
    assert set(pauses[5:]) == {datetime.timedelta(seconds=background.MAX_RETRY_SECONDS)} == {24 * hour}


def test_a_job_failing_late_with_the_largest_settings_waits_a_day_and_the_worker_goes_on(settings, caplog):
    settings.TASKS_JOB_ATTEMPTS, settings.TASKS_JOB_RETRY_SECONDS = MOST_ATTEMPTS, LONGEST_RETRY_SECONDS
    late = fails_until.enqueue("late", 1)
    DBTaskResult.objects.filter(pk=late.id).update(worker_ids=[f"earlier-{n}" for n in range(MOST_ATTEMPTS - 2)])
    after = fails_until.enqueue("after", 0)
    run_worker()
    row = stored(late)
    assert row.status == background.TaskResultStatus.READY and len(row.worker_ids) == MOST_ATTEMPTS - 1
    assert datetime.timedelta(hours=23) < row.run_after - timezone.now() <= datetime.timedelta(days=1)
    assert f"failed on attempt {MOST_ATTEMPTS - 1} of {MOST_ATTEMPTS}; retrying in 86400.0 s" in caplog.text
    assert stored(after).status == background.TaskResultStatus.SUCCESSFUL


def test_a_job_whose_worker_died_is_queued_again_then_failed_after_its_last_attempt(settings):
    result = fails_until.enqueue("lost", 0)
    row = stored(result)
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.TASKS_JOB_STALE_SECONDS + 1)
    for attempt in range(1, 4):
        row.claim(f"killed-{attempt}")
        DBTaskResult.objects.filter(pk=row.pk).update(started_at=long_ago)
        assert reclaim_stale("default") == 1
        row.refresh_from_db()
        expected = background.TaskResultStatus.READY if attempt < 3 else background.TaskResultStatus.FAILED
        assert row.status == expected, attempt
    assert "stopped reporting on attempt 3" in row.traceback


def test_a_batch_run_first_takes_back_the_job_of_a_dead_worker_and_runs_it(settings):
    """A cron-only deployment (`db_worker --batch`) loses no job: each run takes back the jobs of dead workers."""
    result = fails_until.enqueue("orphan", 0)
    stored(result).claim("killed-0")
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.TASKS_JOB_STALE_SECONDS + 1)
    DBTaskResult.objects.filter(pk=result.id).update(started_at=long_ago)
    run_worker()
    assert stored(result).status == background.TaskResultStatus.SUCCESSFUL
    assert not WorkerHeartbeat.objects.exists()  # its own heartbeat ends with it


def test_a_job_running_past_the_stale_time_is_left_to_its_worker_while_that_reports(settings, caplog):
    """Liveness is the worker's heartbeat, not the job's start: a long job is not started a second time, and a
    job whose worker has gone silent is queued again, its log line naming the worker."""
    row = stored(fails_until.enqueue("long", 0))
    row.claim("long-worker-0")
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.TASKS_JOB_STALE_SECONDS + 1)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=long_ago)
    beat(["long-worker-0"])
    assert reclaim_stale("default") == 0
    WorkerHeartbeat.objects.filter(worker_id="long-worker-0").update(seen_at=long_ago)
    assert reclaim_stale("default") == 1
    assert stored(row).status == background.TaskResultStatus.READY
    assert f"Job {row.id} stopped reporting on attempt 1 (worker long-worker-0 silent for" in caplog.text
    assert not WorkerHeartbeat.objects.exists()  # a dead worker's heartbeat goes with its jobs


def test_a_heartbeat_is_recorded_and_renewed():
    beat(["a-0", "a-1"])
    first = dict(WorkerHeartbeat.objects.values_list("worker_id", "seen_at"))
    beat(["a-0", "a-1"])
    again = dict(WorkerHeartbeat.objects.values_list("worker_id", "seen_at"))
    assert set(first) == set(again) == {"a-0", "a-1"} and all(again[key] >= first[key] for key in first)


def test_the_help_says_reload_is_off_by_default():
    help_text = " ".join(Command().create_parser("manage.py", "db_worker").format_help().split())
    assert "(default: DEBUG)" not in help_text and "(default: off;" in help_text


def test_a_running_job_within_the_stale_time_is_left_to_its_worker():
    row = stored(fails_until.enqueue("busy", 0))
    row.claim("busy-worker")
    assert reclaim_stale("default") == 0


def test_a_database_it_cannot_use_stops_it_with_one_line(tmp_path):
    env = {**os.environ, "DATABASE_URL": "", "DJANGO_SQLITE_PATH": str(tmp_path / "unmigrated.sqlite3")}
    result = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--concurrency", "1"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result
    assert result.stderr.strip().splitlines() == [
        "db_worker stopped: the database is unreachable or not migrated "
        "(no such table: {{ cookiecutter.project_slug }}_workerheartbeat)."  # its first heartbeat
    ]
