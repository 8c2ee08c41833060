"""ASGI lifespan: Channels' router raises on this scope unless someone answers it.

It also starts the background workers inside the server when the channel layer is in-memory
(see workers.py), and stops them when the server stops.
"""

from {{ cookiecutter.project_slug }}.routing import channel_workers
from {{ cookiecutter.project_slug }}.workers import start_in_process_workers, stop


async def lifespan(scope, receive, send):
    workers = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            workers = start_in_process_workers(channel_workers)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop(workers)
            await send({"type": "lifespan.shutdown.complete"})
            return
