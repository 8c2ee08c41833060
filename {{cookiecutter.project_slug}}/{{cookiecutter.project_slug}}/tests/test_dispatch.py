"""layers/dispatch.py keeps Channels' contract: each case runs on Channels' await_many_dispatch and on ours."""

import asyncio
import contextvars
import gc
import sys
import weakref

import channels.consumer
import pytest
from channels.exceptions import StopConsumer
from channels.utils import await_many_dispatch as channels_loop

from {{ cookiecutter.project_slug }}.layers import dispatch

LOOPS = [pytest.param(channels_loop, id="channels"), pytest.param(dispatch.await_many_dispatch, id="ours")]


class Source:
    """An async callable of no arguments, as a consumer's `receive`: returns what was put (raises it if it is an
    exception), counts its reads."""

    def __init__(self):
        self.queue = asyncio.Queue()
        self.reads = 0
        self.cancelled = 0

    async def __call__(self):
        self.reads += 1
        try:
            item = await self.queue.get()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if isinstance(item, BaseException):
            raise item
        return item


def test_every_consumer_of_the_project_uses_our_loop():
    # apps.py installs it at startup, as the settings the tests run with do.
    assert dispatch.installed()
    assert channels.consumer.await_many_dispatch is dispatch.await_many_dispatch


@pytest.mark.parametrize("loop", LOOPS)
async def test_messages_are_dispatched_one_at_a_time_and_a_source_is_read_again_only_after(loop):
    socket, channel = Source(), Source()
    seen, busy, release = [], asyncio.Event(), asyncio.Event()

    async def handle(message):
        seen.append(message)
        if message == "slow":
            busy.set()
            await release.wait()
        if message == "stop":
            raise StopConsumer

    running = asyncio.create_task(loop([socket, channel], handle))
    socket.queue.put_nowait("slow")
    await asyncio.wait_for(busy.wait(), 5)
    channel.queue.put_nowait("layer")
    socket.queue.put_nowait("second")
    for _ in range(20):
        await asyncio.sleep(0)
    # While "slow" is dispatched nothing else is, and the socket has not been read again (no buffering).
    assert seen == ["slow"]
    assert socket.reads == 1
    release.set()
    for _ in range(20):
        await asyncio.sleep(0)
    channel.queue.put_nowait("stop")
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(running, 5)
    assert sorted(seen[1:3]) == ["layer", "second"] and seen[3] == "stop"
    assert socket.reads == 3 and socket.cancelled == 1  # the read under way at the end was cancelled


@pytest.mark.parametrize("loop", LOOPS)
async def test_an_error_of_a_source_ends_the_loop_with_it(loop):
    socket = Source()

    async def broken():
        raise ConnectionError("the layer is gone")

    running = asyncio.create_task(loop([socket, broken], lambda message: asyncio.sleep(0)))
    with pytest.raises(ConnectionError, match="the layer is gone"):
        await asyncio.wait_for(running, 5)
    assert socket.cancelled == 1


@pytest.mark.parametrize("loop", LOOPS)
async def test_an_error_of_a_source_ends_the_loop_once_the_message_under_way_is_dispatched(loop):
    socket, channel = Source(), Source()
    finished, release = [], asyncio.Event()

    async def handle(message):
        await release.wait()
        finished.append(message)

    running = asyncio.create_task(loop([socket, channel], handle))
    socket.queue.put_nowait("under way")
    for _ in range(10):
        await asyncio.sleep(0)
    channel.queue.put_nowait(ConnectionError("the layer is gone"))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not running.done()
    release.set()
    with pytest.raises(ConnectionError, match="the layer is gone"):
        await asyncio.wait_for(running, 5)
    assert finished == ["under way"]


async def test_the_first_source_is_read_and_dispatched_in_the_calling_task():
    # A consumer's socket: its messages cost no task switch (Channels' own loop reads it in a new task each time).
    seen_in = []

    async def socket():
        seen_in.append(("read", asyncio.current_task()))
        return "hello"

    async def handle(message):
        seen_in.append(("dispatched", asyncio.current_task()))
        raise StopConsumer

    with pytest.raises(StopConsumer):
        async with asyncio.timeout(5):
            await dispatch.await_many_dispatch([socket, Source()], handle)
    assert seen_in == [("read", asyncio.current_task()), ("dispatched", asyncio.current_task())]


@pytest.mark.parametrize("loop", LOOPS)
async def test_an_error_of_dispatch_ends_the_loop_with_it(loop):
    socket = Source()

    async def handle(message):
        raise ValueError(message)

    running = asyncio.create_task(loop([socket], handle))
    socket.queue.put_nowait("bad")
    with pytest.raises(ValueError, match="bad"):
        await asyncio.wait_for(running, 5)


@pytest.mark.parametrize("loop", LOOPS)
async def test_cancelling_the_loop_cancels_the_reads(loop):
    socket, channel = Source(), Source()
    running = asyncio.create_task(loop([socket, channel], lambda message: asyncio.sleep(0)))
    for _ in range(5):
        await asyncio.sleep(0)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert socket.cancelled == 1 and channel.cancelled == 1


async def settle():
    for _ in range(10):
        await asyncio.sleep(0)


async def test_turns_are_taken_first_come_first_served_and_a_cancelled_turn_is_passed_on():
    turns, order = dispatch.Turns(), []

    async def take(name):
        await turns.take()
        order.append(name)

    await turns.take()  # held
    waiters = [asyncio.create_task(take(name)) for name in ("a", "b", "c")]
    await asyncio.sleep(0)
    turns.pass_on()  # to "a"...
    waiters[0].cancel()  # ...cancelled before it ran: "b" gets it
    await settle()
    assert order == ["b"]
    turns.pass_on()
    await settle()
    assert order == ["b", "c"]
    turns.pass_on()
    assert not turns.taken and not turns.waiting
    await turns.take()  # free again: at once


@pytest.mark.parametrize("loop", LOOPS)
async def test_nothing_is_dispatched_after_a_channel_handler_raised(loop):
    socket, channel = Source(), Source()
    seen, busy, release = [], asyncio.Event(), asyncio.Event()

    async def handle(message):
        seen.append(message)
        if message == "group.bad":
            busy.set()
            await release.wait()
            raise ValueError("handler failed")
        if message == "websocket.disconnect":
            raise StopConsumer

    running = asyncio.create_task(loop([socket, channel], handle))
    channel.queue.put_nowait("group.bad")
    await asyncio.wait_for(busy.wait(), 5)
    socket.queue.put_nowait("websocket.disconnect")  # the client leaves while the group handler runs
    await settle()
    release.set()
    with pytest.raises(ValueError, match="handler failed"):  # not lost to the disconnect's StopConsumer
        await asyncio.wait_for(running, 5)
    assert seen == ["group.bad"]


@pytest.mark.parametrize("loop", LOOPS)
async def test_stop_consumer_from_a_channel_handler_ends_the_loop_before_a_waiting_socket_message(loop):
    socket, channel = Source(), Source()
    seen = []

    async def handle(message):
        seen.append(message)
        if message == "stop":
            await asyncio.sleep(0.05)
            raise StopConsumer

    running = asyncio.create_task(loop([socket, channel], handle))
    channel.queue.put_nowait("stop")
    await settle()
    socket.queue.put_nowait("socket")
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(running, 5)
    assert seen == ["stop"]


@pytest.mark.parametrize("loop", LOOPS)
async def test_a_contextvar_a_socket_handler_sets_holds_in_later_channel_handlers(loop):
    # As connect() activating the user's language (translation.activate) for the group messages to come.
    language = contextvars.ContextVar("language", default="en")
    socket, channel = Source(), Source()
    seen = []

    async def handle(message):
        if message == "connect":
            language.set("fr")
        elif message == "group":
            seen.append(language.get())
            raise StopConsumer

    running = asyncio.create_task(loop([socket, channel], handle))
    socket.queue.put_nowait("connect")
    await settle()
    channel.queue.put_nowait("group")
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(running, 5)
    # Python 3.11 has no Task.get_context(): our readers run in a copy of the context made at the loop's start.
    assert seen == (["en"] if loop is dispatch.await_many_dispatch and sys.version_info < (3, 12) else ["fr"])


class Consumer:
    """Stands for a socket's consumer and what hangs on it: only the loop's handler refers to it."""


@pytest.mark.parametrize("fails", ["socket handler", "channel handler", "channel source"])
async def test_a_loop_ended_by_an_error_leaves_no_reference_cycle(fails):
    # A socket must be freed by reference counting as it closes: garbage.py freezes what survives a full
    # collection, so a cycle through a socket open then would hold all of it until the next thaw. A channel
    # handler fails as a client leaves during a group send (ClientDisconnected), a channel source when Redis goes.
    # (Channels' own loop leaves one when a source fails: the task of the failed read, kept in a list, holds it.)
    socket, channel, layer_gone = Source(), Source(), asyncio.Event()
    consumer = Consumer()
    freed = weakref.ref(consumer)

    async def handle(message, consumer=consumer):
        raise ValueError("handler failed")

    async def failing_channel():
        await layer_gone.wait()
        raise ConnectionError("the layer is gone")  # Source would keep the error it raises in its frame

    async def run(handle):
        sources = [socket, failing_channel if fails == "channel source" else channel]
        try:
            await dispatch.await_many_dispatch(sources, handle)
        except (ValueError, ConnectionError):
            pass  # the error, dropped here: nothing else refers to it

    running = asyncio.create_task(run(handle))
    del consumer, handle
    await settle()
    if fails == "socket handler":
        socket.queue.put_nowait("websocket.receive")
    elif fails == "channel handler":
        channel.queue.put_nowait("group.message")
    else:
        layer_gone.set()
    gc.disable()  # only reference counting frees it
    try:
        await asyncio.wait_for(running, 5)
        await settle()
        assert freed() is None
    finally:
        gc.enable()
