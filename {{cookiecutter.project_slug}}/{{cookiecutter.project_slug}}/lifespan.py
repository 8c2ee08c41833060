"""ASGI lifespan: Channels' router raises on this scope unless someone answers it.

At startup the server runs the channel-layer checks itself (uvicorn and gunicorn run no Django checks): a
wrong library version or a layer class the project cannot use stops it with one line, and so does any error
of the startup itself (raised, uvicorn would take it for "lifespan unsupported" and serve without it). An
unreachable Redis does not: the server starts, serves pages, logs that it is not ready and re-checks until
Redis answers (health.py).

Once started, it keeps full garbage collections short (garbage.py): what startup loaded, then what survives each
full collection, is frozen out of the collector's sight, so that their pauses, which stall every socket, stay
short with thousands of sockets open.

It also runs the background workers: `manage.py runworker` is a separate process, and the in-memory layer
lives inside the server process, so a worker there would never see a message. With the in-memory layer the
server runs every app's `channel_workers` itself (and runworker refuses to start); with Redis it leaves them
to `manage.py runworker <channel> ...`.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import ChannelNameRouter

from {{ cookiecutter.project_slug }} import garbage, health
from {{ cookiecutter.project_slug }}.checks import startup_problems
from {{ cookiecutter.project_slug }}.layers import is_in_memory
from {{ cookiecutter.project_slug }}.layers.worker import BoundedWorker
from {{ cookiecutter.project_slug }}.routing import channel_workers

logger = logging.getLogger(__name__)


async def lifespan(scope, receive, send):
    workers = watcher = freezing = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                problems = await sync_to_async(startup_problems)()
                errors = [problem for problem in problems if problem.is_serious()]
                for problem in problems:
                    if problem not in errors:
                        logger.warning("%s", problem)
                if errors:
                    # The server prints this message and exits.
                    await send({"type": "lifespan.startup.failed", "message": "\n".join(map(str, errors))})
                    return
                await health.check_channel_layer()
                watcher = asyncio.create_task(health.watch_channel_layer())
                workers = start_in_process_workers(channel_workers)
                freezing = garbage.SurvivorFreezing()
                freezing.start()
            except Exception as error:
                # Raised, it would read as "lifespan unsupported" to uvicorn, which then serves on without any of
                # the above (uvicorn's default --lifespan auto): failing the start says what went wrong.
                logger.exception("The server could not start.")
                await stop(watcher)
                await stop(workers)
                await send({"type": "lifespan.startup.failed", "message": f"{type(error).__name__}: {error}"})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if freezing is not None:
                freezing.stop()
            await stop(watcher)
            await stop(workers)
            await send({"type": "lifespan.shutdown.complete"})
            return


def start_in_process_workers(channel_workers):
    """Start a Worker for `channel_workers` (channel name -> consumer) if the layer is in-memory.

    Returns the running asyncio task (end it with stop()), or None when nothing was started.
    """
    if not channel_workers or not is_in_memory():
        return None
    names = sorted(channel_workers)
    logger.warning(
        "The channel layer is in-memory, so this server process runs the background workers for %s itself; "
        "`manage.py runworker <channel>` cannot reach it. Set REDIS_URL to run workers in their own processes.",
        ", ".join(names),
    )
    worker = BoundedWorker(
        application=ChannelNameRouter(channel_workers), channels=names, channel_layer=get_channel_layer()
    )
    task = asyncio.create_task(worker.arun())
    task.worker = worker  # type: ignore[attr-defined]  # stop() finds the worker on its task
    return task


async def stop(task):
    """Stop a task started here (None: nothing). The in-process workers' task (it has `.worker`) stops
    gracefully: a running job gets the worker's grace period to finish, else it is handed back to the layer
    (which, in memory, ends with the process). Any other task is cancelled."""
    if task is None:
        return
    worker = getattr(task, "worker", None)
    if worker is not None:
        worker.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), worker.grace + 1)
        except TimeoutError:
            pass
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
