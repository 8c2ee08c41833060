"""ASGI lifespan: Channels' router raises on this scope unless someone answers it.

At startup the channel-layer system checks run (uvicorn and gunicorn do not run Django's checks): an
unreachable Redis stops the server with one line naming the host, like `manage.py check` would.
It also starts the background workers inside the server when the channel layer is in-memory
(see workers.py), and stops them when the server stops.
"""

import logging

from asgiref.sync import sync_to_async

from {{ cookiecutter.project_slug }}.checks import startup_problems
from {{ cookiecutter.project_slug }}.routing import channel_workers
from {{ cookiecutter.project_slug }}.workers import start_in_process_workers, stop

logger = logging.getLogger(__name__)


async def lifespan(scope, receive, send):
    workers = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            problems = await sync_to_async(startup_problems)()
            errors = [problem for problem in problems if problem.is_serious()]
            for problem in problems:
                if problem not in errors:
                    logger.warning("%s", problem)
            if errors:
                # The server prints this message and exits.
                await send({"type": "lifespan.startup.failed", "message": "\n".join(map(str, errors))})
                return
            workers = start_in_process_workers(channel_workers)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop(workers)
            await send({"type": "lifespan.shutdown.complete"})
            return
