import logging
import uuid

from channels.consumer import AsyncConsumer
from channels.exceptions import ChannelFull

from {{ cookiecutter.project_slug }}.consumers import NoDbCleanupMixin
from {{ cookiecutter.project_slug }}.push import PushConsumer, apush, user_group

from . import jobs

TOPIC = "tasks"
WORKER_CHANNEL = "tasks"  # python manage.py runworker tasks
MAX_STEPS = 20
FAILED = "The task failed. The details are in the server log."  # what the page shows for any failure

logger = logging.getLogger(__name__)


class TaskConsumer(NoDbCleanupMixin, PushConsumer):
    """The page's socket: starts tasks and receives the progress of all of the user's tasks.

    Client -> server: {"start": {"steps": 5}} or {"start": {"steps": 5, "fail_at": 3}}.
    Server -> client: {"task": id, "status": "queued" | "running" | "done" | "failed", "step": n,
    "steps": n, "error": "why"} or {"error": "why"} for a bad frame. Logged-in users only (4401).
    """

    topic = TOPIC

    async def receive_json(self, content, **kwargs):
        start = content.get("start") if isinstance(content, dict) else None
        if not isinstance(start, dict):
            await self.send_error('Send {"start": {"steps": 5}}, optionally with "fail_at": <step>.')
            return
        steps, fail_at = start.get("steps", 5), start.get("fail_at")
        if type(steps) is not int or not 1 <= steps <= MAX_STEPS:
            await self.send_error(f'"steps" must be a whole number from 1 to {MAX_STEPS}.')
            return
        if fail_at is not None and (type(fail_at) is not int or not 1 <= fail_at <= steps):
            await self.send_error(f'"fail_at" must be a step from 1 to {steps}, or left out.')
            return
        task = uuid.uuid4().hex
        job = {"type": "task.run", "task": task, "user": self.scope["user"].pk, "steps": steps, "fail_at": fail_at}
        try:
            await self.channel_layer.send(WORKER_CHANNEL, job)
        except ChannelFull:
            await self.send_error("Too many tasks are waiting for the worker: try again in a moment.")
            return
        await self.send_json({"task": task, "status": "queued", "step": 0, "steps": steps})


class TaskWorker(AsyncConsumer):
    """Runs on the `tasks` channel: in `manage.py runworker tasks`, or in the server with the in-memory layer.

    One worker runs one task at a time and takes the next off the layer only when done (layers/worker.py):
    the rest wait in the layer, and once its capacity is full the page is told "Too many tasks are waiting".
    Start more workers to run more at once. A failing job is logged with its traceback, its user gets the
    generic FAILED line, and the worker goes on with the next task. On SIGTERM the worker finishes the running
    task, or hands it back to the layer after its grace period (it then runs again from the start).
    """

    async def task_run(self, message):
        group = user_group(TOPIC, message["user"])
        state = {"task": message["task"], "steps": message["steps"]}
        try:
            async for step in jobs.count_slowly(message["steps"], message["fail_at"]):
                await apush(group, {**state, "status": "running", "step": step})
        except Exception:
            # The detail (which may hold paths, queries or secrets) goes to the log; the browser gets a generic line.
            logger.exception("Task %s of user %s failed", message["task"], message["user"])
            await apush(group, {**state, "status": "failed", "error": FAILED})
            return
        await apush(group, {**state, "status": "done", "step": message["steps"]})
