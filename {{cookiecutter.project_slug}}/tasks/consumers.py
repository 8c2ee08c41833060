import asyncio
import logging
import uuid

from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from django.conf import settings
from django.db import DatabaseError

from {{ cookiecutter.project_slug }}.consumers import NoDbCleanupMixin
from {{ cookiecutter.project_slug }}.layers import is_in_memory
from {{ cookiecutter.project_slug }}.push import PushConsumer, apush, user_group

from . import durable, jobs, slots

TOPIC = "tasks"
MAX_STEPS = 20  # the most steps a task may count (contracts.Steps)
WORKER_CHANNEL = "tasks"  # python manage.py runworker tasks
FINAL = {"done", "failed", "lost", "expired"}
# What the page shows for each end that is not "done".
FAILED = "The task failed. The details are in the server log."
EXPIRED = "No worker took the task in time. Is `manage.py runworker tasks` running, and are there enough of them?"
LOST = "The worker stopped reporting on the task (it was stopped or it crashed)."
FULL = "You have {} tasks queued or running, the most allowed: start another one once one of them has ended."
# A running job reports at least this often (it pushes every step: jobs.STEP_SECONDS); with the layer's expiry
# it makes the default TASK_SILENCE_SECONDS.
REPORT_SECONDS = 5
POLL_SECONDS = 0.5  # in-memory layer: how often a durable jobs page re-reads its user's jobs (JobConsumer)

logger = logging.getLogger(__name__)


def silence_seconds(layer):
    """How long a task may go without word before its page is told it is over: settings.TASK_SILENCE_SECONDS,
    by default the layer's expiry plus REPORT_SECONDS (65 s). No job waits in the layer longer than its expiry
    (nor does one a stopping worker handed back), and a running job reports at least every REPORT_SECONDS."""
    return getattr(settings, "TASK_SILENCE_SECONDS", layer.expiry + REPORT_SECONDS)


class TaskConsumer(NoDbCleanupMixin, PushConsumer):
    """The page's socket: starts tasks and receives the progress of all of the user's tasks.

    Client -> server: {"start": {"steps": 5}} or {"start": {"steps": 5, "fail_at": 3}}.
    Server -> client: {"task": id, "status": "queued" | "running" | "done", "step": n, "steps": n} (the "queued"
    frame adds "silence": the bound below, in seconds), or at a
    task's bad end {"task": id, "status": "failed" | "lost" | "expired", "steps": n, "error": "why"}; and
    {"error": "why"} for a bad frame, for a user who has settings.TASKS_PER_USER tasks queued or running (FULL),
    or a full layer. Logged-in users only (4401).

    Every task this socket was told is "queued" ends done, failed, lost or expired within silence_seconds() of
    the last word of it: its watchdog reports "expired" (no worker took it) or "lost" (its worker stopped
    reporting) to every socket of the user. The watchdog ends with the socket.
    """

    topic = TOPIC
    contract = "tasks.contracts.TASKS"  # the frames above, as models

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.watched = {}  # task this socket queued -> asyncio.Queue of the statuses pushed for it
        self.watchdogs = set()

    async def receive_json(self, content, **kwargs):
        # The contract (contracts.Start) has checked the frame's shape, types and ranges, fail_at within steps.
        start = content["start"]
        steps, fail_at = start.get("steps", 5), start.get("fail_at")
        task, user = uuid.uuid4().hex, self.scope["user"].pk  # type: ignore[union-attr]  # connect() closed anonymous sockets
        if not await sync_to_async(slots.take_slot)(user, task):
            await self.send_error(FULL.format(slots.limit()))
            return
        job = {"type": "task.run", "task": task, "user": user, "steps": steps, "fail_at": fail_at}
        try:
            await self.channel_layer.send(WORKER_CHANNEL, job)
        except ChannelFull:
            await sync_to_async(slots.free_slot)(user, task)
            await self.send_error("Too many tasks are waiting for the worker: try again in a moment.")
            return
        # "silence" lets the page keep its own watch too: this socket's watchdog ends when the page reconnects.
        silence = silence_seconds(self.channel_layer)
        await self.send_json({"task": task, "status": "queued", "step": 0, "steps": steps, "silence": silence})
        statuses = self.watched[task] = asyncio.Queue()
        watchdog = asyncio.create_task(self.watch(task, steps, statuses))
        self.watchdogs.add(watchdog)
        watchdog.add_done_callback(self.watchdogs.discard)

    async def push_message(self, event):
        update = event["payload"]
        statuses = self.watched.get(update.get("task")) if isinstance(update, dict) else None
        if statuses is not None:
            statuses.put_nowait(update.get("status"))
        await super().push_message(event)

    async def watch(self, task, steps, statuses):
        """Wait for `task` to end; after silence_seconds() with no word of it, report it expired or lost."""
        status = "queued"
        try:
            while status not in FINAL:
                try:
                    status = await asyncio.wait_for(statuses.get(), silence_seconds(self.channel_layer))
                except TimeoutError:
                    await self.give_up(task, steps, "expired" if status == "queued" else "lost")
                    return
        finally:
            del self.watched[task]

    async def give_up(self, task, steps, status):
        user = self.scope["user"].pk  # type: ignore[union-attr]  # connect() closed anonymous sockets
        if not await sync_to_async(slots.free_slot)(user, task):
            return  # its worker has just reported its end
        seconds = silence_seconds(self.channel_layer)
        logger.warning("Task %s of user %s %s: no word of it for %s s.", task, user, status, seconds)
        error = EXPIRED if status == "expired" else LOST
        await apush(user_group(TOPIC, user), {"task": task, "status": status, "steps": steps, "error": error})

    async def disconnect(self, code):
        # Once the socket has left its group the watchdogs would hear nothing. A task that ends still frees its
        # slot (its worker does); a lost one's slot is freed by slots.SLOT_SECONDS.
        for watchdog in list(self.watchdogs):
            watchdog.cancel()
        await asyncio.gather(*self.watchdogs, return_exceptions=True)
        await super().disconnect(code)


class TaskWorker(AsyncConsumer):
    """Runs on the `tasks` channel: in `manage.py runworker tasks`, or in the server with the in-memory layer.

    One worker runs one task at a time and takes the next off the layer only when done (layers/worker.py):
    the rest wait in the layer, and once its capacity is full the page is told "Too many tasks are waiting".
    Start more workers to run more at once. A failing job is logged with its traceback, its user gets the
    generic FAILED line, and the worker goes on with the next task. A task ending done or failed frees its
    user's slot (slots.py); one whose page was already told it expired or was lost is dropped, not run. On
    SIGTERM the worker finishes the running task, or hands it back to the layer after its grace period (it
    then runs again from the start).
    """

    async def task_run(self, message):
        task, user = message["task"], message["user"]
        if not await sync_to_async(slots.holds_slot)(task):
            logger.info("Task %s of user %s was reported expired or lost before a worker took it: dropped.", task, user)
            return
        group = user_group(TOPIC, user)
        state = {"task": task, "steps": message["steps"]}
        try:
            async for step in jobs.count_slowly(message["steps"], message["fail_at"]):
                await apush(group, {**state, "status": "running", "step": step})
        except Exception:
            # The detail (which may hold paths, queries or secrets) goes to the log; the browser gets a generic line.
            logger.exception("Task %s of user %s failed", task, user)
            await sync_to_async(slots.free_slot)(user, task)
            await apush(group, {**state, "status": "failed", "error": FAILED})
            return
        await sync_to_async(slots.free_slot)(user, task)
        await apush(group, {**state, "status": "done", "step": message["steps"]})


class JobConsumer(NoDbCleanupMixin, PushConsumer):
    """The durable jobs page's socket (durable.py): starts jobs and receives the state of all of the user's jobs.

    On connect it sends the state of each of the user's latest jobs (durable.SHOWN), from the database, so a
    reloaded page shows where each stands; then each change as it happens, to every tab of the user. On the
    in-memory layer the worker (another process) cannot push to the page: the socket re-reads its user's jobs
    every POLL_SECONDS instead, and sends what changed; while the database cannot be read it keeps trying (poll()).

    Client -> server: {"start": {"steps": 5}} or {"start": {"steps": 5, "fail_at": 3}} (as TaskConsumer).
    Server -> client: {"job": id, "status": "queued" | "retrying" | "running" | "done" | "failed", "step": n,
    "steps": n, "attempt": n, "attempts": n}, with "error" when failed (durable.FAILED: the detail is in the
    worker's log); {"error": "why"} for a bad frame or a user with durable.limit() jobs queued or running.
    Logged-in users only (4401).
    """

    topic = durable.TOPIC
    contract = "tasks.contracts.JOBS"  # the frames above, as models
    poller: asyncio.Task[None] | None = None

    async def connect(self):
        self.shown = {}  # job -> the last state this socket sent of it
        await super().connect()
        if not self.groups_joined:  # closed: not logged in
            return
        await self.send_latest()
        if is_in_memory():
            self.poller = asyncio.create_task(self.poll())

    async def send_latest(self):
        user = self.scope["user"].pk  # type: ignore[union-attr]  # connect() closed anonymous sockets
        for state in await database_sync_to_async(durable.latest)(user):
            await self.send_state(state)

    async def send_state(self, state):
        if self.shown.get(state["job"]) != state:
            self.shown[state["job"]] = state
            await self.send_json(state)

    async def poll(self):
        """Re-read the user's jobs every POLL_SECONDS and send what changed, until the socket closes. A read that
        fails (the database restarting, a SQLite lock held too long) is logged once, in one line, and polling goes
        on: the page gets what it missed once the database answers again, which is logged too."""
        user = self.scope["user"].pk  # type: ignore[union-attr]  # connect() closed anonymous sockets
        failing = False
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.send_latest()
            except DatabaseError as error:
                if not failing:  # one line: PostgreSQL's messages span several
                    why = " ".join(f"{type(error).__name__}: {error}".split())
                    logger.warning("Jobs page of user %s cannot read its jobs (%s); it keeps trying.", user, why)
                failing = True
                continue
            if failing:
                logger.info("Jobs page of user %s reads its jobs again.", user)
            failing = False

    async def push_message(self, event):
        payload = event["payload"]
        if isinstance(payload, dict) and "job" in payload:
            await self.send_state(payload)
        else:
            await super().push_message(event)

    async def receive_json(self, content, **kwargs):
        start = content["start"]
        steps, fail_at = start.get("steps", 5), start.get("fail_at")
        user = self.scope["user"].pk  # type: ignore[union-attr]  # connect() closed anonymous sockets
        state = await database_sync_to_async(durable.enqueue)(user, steps, fail_at)
        if state is None:
            await self.send_error(durable.FULL.format(durable.limit()))
            return
        await apush(user_group(durable.TOPIC, user), state)

    async def disconnect(self, code):
        if self.poller:
            self.poller.cancel()
            await asyncio.gather(self.poller, return_exceptions=True)
        await super().disconnect(code)
