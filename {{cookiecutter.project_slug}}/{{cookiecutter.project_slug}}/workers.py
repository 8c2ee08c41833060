"""Background workers inside the server process, for the in-memory channel layer.

`manage.py runworker` is a separate process, and the in-memory layer lives inside the server process:
a worker there would wait forever for messages it can never see. So with the in-memory layer the
server runs every app's `channel_workers` itself, and runworker refuses to start. With Redis the
server leaves them to `manage.py runworker <channel> ...`.
"""

import asyncio
import logging

from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.routing import ChannelNameRouter
from channels.worker import Worker

logger = logging.getLogger(__name__)


def layer_is_in_memory():
    return isinstance(get_channel_layer(), InMemoryChannelLayer)


def start_in_process_workers(channel_workers):
    """Start a Worker for `channel_workers` (channel name -> consumer) if the layer is in-memory.

    Returns the running asyncio task (cancel it to stop), or None when nothing was started.
    """
    if not channel_workers or not layer_is_in_memory():
        return None
    names = sorted(channel_workers)
    logger.warning(
        "The channel layer is in-memory, so this server process runs the background workers for %s itself; "
        "`manage.py runworker` cannot reach it. Set REDIS_URL to run workers in their own processes.",
        ", ".join(names),
    )
    worker = Worker(application=ChannelNameRouter(channel_workers), channels=names, channel_layer=get_channel_layer())
    return asyncio.create_task(worker.arun())


async def stop(task):
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
