"""Contract of layers/worker.py's BoundedWorker against Channels' Worker: the same delivery, in order; the
difference is that it leaves waiting messages in the layer (whose capacity then tells senders ChannelFull),
where the stock class drains the layer into its own unbounded queue. And stop() finishes the running message,
or hands it back to the layer after the grace period."""

import asyncio

import pytest
from channels.consumer import AsyncConsumer
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from channels.routing import ChannelNameRouter
from channels.worker import Worker

from {{ cookiecutter.project_slug }}.consumers import NoDbCleanupMixin
from {{ cookiecutter.project_slug }}.layers.worker import BoundedWorker

CHANNEL = "test-bounded-worker"
WAIT = 10  # seconds: a bound on hanging


class Recorder(NoDbCleanupMixin, AsyncConsumer):
    """Appends each job's number to `done`, after waiting for `release` when the job asks to block.

    It touches no database: NoDbCleanupMixin skips Channels' close_old_connections(), which would meet a
    connection an earlier test left in the shared thread, outside this test's (absent) database access.
    """

    done: list[int] = []
    started = None
    release = None

    async def job_run(self, message):
        Recorder.started.set()
        if message.get("block"):
            await Recorder.release.wait()
        Recorder.done.append(message["n"])


@pytest.fixture
def recorder():
    Recorder.done, Recorder.started, Recorder.release = [], asyncio.Event(), asyncio.Event()
    return Recorder


@pytest.fixture
def start_worker():
    started = []

    def start(worker_class, **options):
        router = ChannelNameRouter({CHANNEL: Recorder.as_asgi()})
        worker = worker_class(router, [CHANNEL], get_channel_layer(), **options)
        task = asyncio.create_task(worker.arun())
        started.append(task)
        return worker, task

    yield start
    for task in started:
        task.cancel()


async def drain():
    layer = get_channel_layer()
    while True:
        try:
            await asyncio.wait_for(layer.receive(CHANNEL), 0.2)
        except TimeoutError:
            return


@pytest.mark.parametrize("worker_class", [Worker, BoundedWorker])
async def test_every_message_is_handled_once_in_order(recorder, start_worker, worker_class):
    start_worker(worker_class)
    for n in range(5):
        await get_channel_layer().send(CHANNEL, {"type": "job.run", "n": n})
    async with asyncio.timeout(WAIT):
        while len(recorder.done) < 5:
            await asyncio.sleep(0.01)
    assert recorder.done == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("worker_class", "bounded"), [(Worker, False), (BoundedWorker, True)])
async def test_while_busy_only_the_bounded_worker_leaves_the_rest_in_the_layer(
    recorder, start_worker, worker_class, bounded
):
    layer = get_channel_layer()
    start_worker(worker_class)
    await layer.send(CHANNEL, {"type": "job.run", "n": 0, "block": True})
    await asyncio.wait_for(recorder.started.wait(), WAIT)
    refused = 0
    for n in range(1, layer.capacity + 10):
        try:
            await layer.send(CHANNEL, {"type": "job.run", "n": n})
        except ChannelFull:
            refused += 1
        await asyncio.sleep(0)  # the stock worker takes each message as it comes
    try:
        # The stock Worker holds every message itself, so the layer never fills; the bounded one holds one.
        assert (refused > 0) is bounded
    finally:
        recorder.release.set()
        await drain()


async def test_stop_lets_the_running_message_finish(recorder, start_worker):
    worker, task = start_worker(BoundedWorker, grace=WAIT)
    await get_channel_layer().send(CHANNEL, {"type": "job.run", "n": 1, "block": True})
    await asyncio.wait_for(recorder.started.wait(), WAIT)
    worker.stop()
    await asyncio.sleep(0.1)
    recorder.release.set()
    await asyncio.wait_for(task, WAIT)
    assert recorder.done == [1]


async def test_stop_hands_back_a_message_that_outlives_the_grace_period(recorder, start_worker):
    worker, task = start_worker(BoundedWorker, grace=0.2)
    message = {"type": "job.run", "n": 7, "block": True}
    await get_channel_layer().send(CHANNEL, message)
    await asyncio.wait_for(recorder.started.wait(), WAIT)
    worker.stop()
    await asyncio.wait_for(task, WAIT)
    assert recorder.done == []
    assert await asyncio.wait_for(get_channel_layer().receive(CHANNEL), WAIT) == message
