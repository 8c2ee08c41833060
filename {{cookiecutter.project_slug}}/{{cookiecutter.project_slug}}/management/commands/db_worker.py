"""django-tasks-db's db_worker, made safe to leave running: it runs the durable jobs (background.py).

What it changes:
- Retries: a job that raises goes back into the queue (after background.retry_delay()) until it has had
  settings.TASKS_JOB_ATTEMPTS attempts; then it is marked failed. Each failure's traceback goes to this log.
- At least once: each worker's main thread records a heartbeat for its threads' worker ids every
  background.heartbeat_seconds() (models.WorkerHeartbeat). A job left "running" by a worker that has not reported
  for settings.TASKS_JOB_STALE_SECONDS (it died: SIGKILL, a lost machine) is put back in the queue by any worker
  (or marked failed if it has had all its attempts), however long a job whose worker still reports runs.
- Bounded concurrency: `--concurrency` jobs at once (settings.TASKS_WORKER_CONCURRENCY), each in its own thread
  with its own database connection.
- No autoreloader unless `--reload` is given: under it, Ctrl-C and SIGTERM would cut jobs short and a kill
  would stop only the watcher. SIGTERM or Ctrl-C lets the running jobs finish; a second one exits at once
  (os._exit, after flushing the logs; those jobs are run again once its heartbeat is stale).
- A lost channel layer (Redis) need not fail a job: its progress pushes should catch health.unreachable_errors()
  (docs/workers.md, "Outlives Redis"), and a page reads the jobs' states from the database when it reconnects.
- A lost database stops it with one line on stderr and exit status 1, for systemd's Restart=on-failure or
  compose's restart policy to start it again.
- One-off runs (`--batch`, `--max-tasks`: cron, tests) work the same way, with one thread, until it has run the
  jobs that are ready.
"""

import _thread
import datetime
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from {{ cookiecutter.project_slug }} import background, health
from {{ cookiecutter.project_slug }}.models import WorkerHeartbeat

logger = logging.getLogger("django_tasks_db")


class WorkerLost(Exception):
    """Recorded as the error of a job whose worker stopped reporting on its last attempt."""


class RetryingWorker(Worker):
    """One thread's loop (django-tasks-db's Worker): claims a ready job, runs it, retries it if it raised."""

    error: BaseException | None = None  # the database error that stopped this thread

    def run_task(self, db_task_result: "DBTaskResult[Any, Any]") -> None:
        self.running_task = True
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            background.task_started.send(sender=DatabaseBackend, task_result=task_result)
            args, kwargs = task_result.args, task_result.kwargs
            if task.takes_context:
                value = task.call(background.TaskContext(task_result=task_result), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
            db_task_result.set_successful(value)
        except Exception as error:
            if isinstance(error, DatabaseError) and not database_answers():
                raise  # not the job's failure: the worker stops, and the job runs again once stale
            attempt = len(db_task_result.worker_ids)
            if attempt < background.attempts():
                delay = background.retry_delay(attempt)
                logger.warning(
                    "Job %s failed on attempt %s of %s; retrying in %s s.",
                    db_task_result.id,
                    attempt,
                    background.attempts(),
                    delay.total_seconds(),
                    exc_info=True,
                )
                requeue(db_task_result, delay)
                return
            logger.error("Job %s failed on its last attempt (%s): failed.", db_task_result.id, attempt)
            db_task_result.set_failed(error)
            finished(db_task_result)  # in the except block: the Tasks API's own receiver logs the traceback
            return
        finally:
            self.running_task = False
            self._run_tasks += 1
        finished(db_task_result)

    def run_guarded(self) -> None:
        """run(), keeping the database error that ends it for the main thread to report."""
        try:
            self.run()
        except DatabaseError as error:
            self.error = error
        except Exception as error:
            logger.exception("A db_worker thread stopped on an unexpected error.")
            self.error = error
        finally:
            close_old_connections()


def database_answers() -> bool:
    """Whether this thread's database connection works again after an error (a fresh connection if need be)."""
    try:
        connection.close_if_unusable_or_obsolete()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def finished(db_task_result: "DBTaskResult[Any, Any]") -> None:
    """Tell task_finished's receivers that the job is done or failed (unless its task no longer imports)."""
    try:
        task_result = db_task_result.task_result
    except ImportError:
        return
    background.task_finished.send(sender=DatabaseBackend, task_result=task_result)


def requeue(db_task_result: "DBTaskResult[Any, Any]", delay: datetime.timedelta) -> None:
    """Put a job back in the queue, to run again after `delay` (a timedelta); tell task_retrying's receivers."""
    db_task_result.status = background.TaskResultStatus.READY
    db_task_result.run_after = timezone.now() + delay
    db_task_result.save(update_fields=["status", "run_after"])
    try:
        task_result = db_task_result.task_result
    except ImportError:
        return  # its task no longer imports: it will fail again, and be marked failed after its last attempt
    background.task_retrying.send(sender=DatabaseBackend, task_result=task_result, delay=delay.total_seconds())


def beat(worker_ids: list[str]) -> None:
    """Record that the threads `worker_ids` of this process are alive now (models.WorkerHeartbeat)."""
    now = timezone.now()
    WorkerHeartbeat.objects.bulk_create(  # one upsert: new ids are inserted, known ones get `now`
        [WorkerHeartbeat(worker_id=worker_id, seen_at=now) for worker_id in worker_ids],
        update_conflicts=True,
        unique_fields=["worker_id"],
        update_fields=["seen_at"],
    )


def reclaim_stale(backend_name: str) -> int:
    """Put back in the queue (or mark failed, after their last attempt) the running jobs of `backend_name` whose
    worker has not reported since background.stale_before(): it died. Returns how many."""
    since = background.stale_before()
    alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=since).values_list("worker_id", flat=True))
    # A job claimed since then has a worker that reported since then (it beats before it claims).
    stale = DBTaskResult.objects.running().filter(backend_name=backend_name, started_at__lt=since)
    reclaimed = 0
    with exclusive_transaction(stale.db):
        for db_task_result in stale.select_for_update(skip_locked=True):
            worker_id = db_task_result.worker_ids[-1] if db_task_result.worker_ids else ""
            if worker_id in alive:
                continue  # a long job: its worker still reports
            reclaimed += 1
            attempt = len(db_task_result.worker_ids)
            if attempt < background.attempts():
                logger.warning(
                    "Job %s stopped reporting on attempt %s (worker %s silent for %s s): queued again.",
                    db_task_result.id,
                    attempt,
                    worker_id,
                    settings.TASKS_JOB_STALE_SECONDS,
                )
                requeue(db_task_result, datetime.timedelta(0))
                continue
            logger.error(
                "Job %s stopped reporting on its last attempt (%s) (worker %s silent for %s s): failed.",
                db_task_result.id,
                attempt,
                worker_id,
                settings.TASKS_JOB_STALE_SECONDS,
            )
            try:
                raise WorkerLost(f"its worker stopped reporting on attempt {attempt}")
            except WorkerLost as error:  # raised, so that the error recorded and logged has a traceback
                db_task_result.set_failed(error)
                finished(db_task_result)
        WorkerHeartbeat.objects.filter(seen_at__lt=since).delete()  # dead workers' (their jobs were reclaimed above)
    return reclaimed


class Command(DbWorkerCommand):
    help = "Run the durable jobs (background.py): retries, at least once, bounded concurrency."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.TASKS_WORKER_CONCURRENCY,
            help="Jobs run at once, each in its own thread (default: TASKS_WORKER_CONCURRENCY, %(default)s).",
        )
        # django-tasks-db reloads under DEBUG; here only when asked (see the module's docstring).
        parser.set_defaults(reload=False)
        for action in parser._actions:  # argparse has no public way to change an inherited option's help
            if action.dest == "reload":
                action.help = "Reload the worker when code changes (default: off; Ctrl-C then cuts jobs short)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        health.process_kind = health.DB_WORKER  # a lost Redis is logged with what it costs here
        self.options = options
        self.stopping = threading.Event()
        if options["batch"] or options["max_tasks"]:
            # One-off runs (cron, tests): as a serving worker (heartbeat, the dead workers' jobs taken back first,
            # signals, one line on a lost database), with one thread, until it has run the ready jobs (retries
            # that are due at once included) or --max-tasks of them.
            handlers = self.configure_signals()
            try:
                self.serve(one_off=True)
            finally:
                for name, handler in handlers.items():
                    signal.signal(getattr(signal, name), handler)
            return
        if options["reload"]:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                self.configure_signals()
            run_with_reloader(self.serve_under_reloader)
        else:
            self.configure_signals()
            self.serve()

    def serve_under_reloader(self) -> None:
        """serve() in the reloader's thread; once it has stopped, end the reloader's watch (in the main thread)."""
        try:
            self.serve()
        finally:
            _thread.interrupt_main()

    def worker(self, number: int) -> RetryingWorker:
        """The loop of worker thread `number`, with this command's options."""
        options = self.options
        return RetryingWorker(
            queue_names=options["queue_name"].split(","),
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=f"{options['worker_id'][:60]}-{number}",
            excluded_queue_names=options["exclude_queues"].split(",") if options["exclude_queues"] else [],
        )

    def configure_signals(self) -> dict[str, Any]:
        """Stop on SIGINT, SIGTERM and SIGQUIT (shutdown()); returns the handlers replaced, by signal name (none
        outside the main thread, where Python sets no handler)."""
        replaced: dict[str, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return replaced
        for name in ("SIGINT", "SIGTERM", "SIGQUIT"):
            if hasattr(signal, name):
                replaced[name] = signal.signal(getattr(signal, name), self.shutdown)
        return replaced

    def shutdown(self, signum: int, frame: Any) -> None:
        if self.stopping.is_set():
            logger.warning("Received %s again: exiting now (its jobs run again once stale).", signal.strsignal(signum))
            # Not sys.exit(): the interpreter would wait for the running jobs' threads. Flush the logs, then go.
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        logger.warning("Received %s: finishing the running jobs (again to exit now).", signal.strsignal(signum))
        self.stopping.set()

    def serve(self, one_off: bool = False) -> None:
        """Run --concurrency worker threads (one when `one_off`); this thread records their heartbeat and reclaims
        stale jobs until told to stop (`one_off`: until its thread has run out of ready jobs)."""
        options = self.options
        workers = [self.worker(number) for number in range(1 if one_off else max(options["concurrency"], 1))]
        worker_ids = [worker.worker_id for worker in workers]
        threads = [threading.Thread(target=worker.run_guarded, daemon=True) for worker in workers]
        error: BaseException | None = None
        try:
            close_old_connections()
            beat(worker_ids)  # before the threads claim any job
            reclaim_stale(options["backend_name"])  # a restarted worker takes back its dead predecessor's jobs now
        except DatabaseError as lost:
            error = lost
        else:
            for thread in threads:
                thread.start()
        last_beat = time.monotonic()
        while error is None and not self.stopping.is_set():
            error = next((worker.error for worker in workers if worker.error), None)
            if error or (one_off and not any(thread.is_alive() for thread in threads)):
                break
            try:
                close_old_connections()
                # Once a heartbeat: a worker is taken for dead only after several missed ones, so reclaiming (a
                # write transaction) more often would find nothing more.
                if time.monotonic() - last_beat >= background.heartbeat_seconds():
                    beat(worker_ids)
                    reclaim_stale(options["backend_name"])
                    last_beat = time.monotonic()
            except DatabaseError as lost:
                error = lost
                break
            self.stopping.wait(min(max(options["interval"], 0.1), background.heartbeat_seconds()))
        for worker in workers:
            worker.running = False
        if error:
            for thread in threads:  # a moment for their last log lines, so that this one comes last
                if thread.is_alive():
                    thread.join(timeout=2)
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if isinstance(error, DatabaseError):
                sys.exit(f"db_worker stopped: the database is unreachable or not migrated ({first_line}).")
            sys.exit(f"db_worker stopped: a worker thread failed ({first_line}); its traceback is above.")
        # Still beating while the running jobs finish, so that no other worker takes them for lost meanwhile.
        while alive := [thread for thread in threads if thread.is_alive()]:
            alive[0].join(timeout=background.heartbeat_seconds())
            try:
                close_old_connections()
                beat(worker_ids)
            except DatabaseError:
                pass  # the threads' own errors tell; their jobs are run again once stale
        try:
            WorkerHeartbeat.objects.filter(worker_id__in=worker_ids).delete()
        except DatabaseError:
            pass
