"""layers/buffers.py keeps asyncio.Queue's answers (and channels-redis's BoundedQueue's) at a fraction of its memory:
each case runs on the library's queue and on ours."""

import asyncio
import tracemalloc

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import BoundedQueue

from {{ cookiecutter.project_slug }}.layers.buffers import ChannelBuffer, DropOldestChannelBuffer

QUEUES = [pytest.param(asyncio.Queue, id="asyncio"), pytest.param(ChannelBuffer, id="ours")]
DROPPING = [pytest.param(BoundedQueue, id="channels-redis"), pytest.param(DropOldestChannelBuffer, id="ours")]


@pytest.mark.parametrize("make", QUEUES)
async def test_items_come_out_in_order_and_a_full_or_empty_buffer_says_so(make):
    buffer = make(2)
    assert buffer.empty() and not buffer.full() and buffer.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        buffer.get_nowait()
    buffer.put_nowait("a")
    buffer.put_nowait("b")
    assert buffer.full() and buffer.qsize() == 2 and buffer._queue[0] == "a"  # what Channels' expiry scan reads
    with pytest.raises(asyncio.QueueFull):
        buffer.put_nowait("c")
    assert buffer.get_nowait() == "a"
    assert await buffer.get() == "b"
    assert buffer.empty()


@pytest.mark.parametrize("make", QUEUES)
async def test_waiting_gets_are_served_first_come_first_served(make):
    buffer = make(0)
    first, second = asyncio.create_task(buffer.get()), asyncio.create_task(buffer.get())
    await asyncio.sleep(0)
    buffer.put_nowait(1)
    buffer.put_nowait(2)
    assert await asyncio.wait_for(asyncio.gather(first, second), 5) == [1, 2]


@pytest.mark.parametrize("make", QUEUES)
async def test_a_get_cancelled_once_woken_passes_its_item_to_the_next(make):
    buffer = make(0)
    first, second = asyncio.create_task(buffer.get()), asyncio.create_task(buffer.get())
    await asyncio.sleep(0)
    buffer.put_nowait("only")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs: the item stays, for `second`
    assert await asyncio.wait_for(second, 5) == "only"
    assert first.cancelled() and buffer.empty()


@pytest.mark.parametrize("make", DROPPING)
async def test_a_full_dropping_buffer_drops_its_oldest_item(make):
    buffer = make(2)
    for item in "abc":
        buffer.put_nowait(item)
    assert [buffer.get_nowait(), buffer.get_nowait()] == ["b", "c"]


async def waiting_bytes(count, wait):
    """Bytes allocated per item by `count` tasks each running `wait()` until it waits."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tasks = [asyncio.create_task(wait()) for _ in range(count)]
        await asyncio.sleep(0)
        used = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return used


async def test_an_idle_sockets_channel_costs_the_layer_under_a_kilobyte():
    # Each open socket has a channel whose receive() waits: an asyncio.Queue there held 3.3 KB (four deques).
    layer, loop = get_channel_layer(), asyncio.get_running_loop()

    async def idle():
        await loop.create_future()

    await layer.receive(await send_to_self(layer))  # a reader started once per process (Redis) is not counted
    channels = [await layer.new_channel() for _ in range(200)]
    waits = iter(channels)
    receiving = await waiting_bytes(200, lambda: layer.receive(next(waits)))
    baseline = await waiting_bytes(200, idle)  # a task waiting on a future, without the layer
    assert receiving - baseline < 1024


async def send_to_self(layer):
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "hello"})
    return channel
