"""SingleReaderRedisChannelLayer's patches (layers/redis.py) against a real Redis (pytest --redis)."""

import asyncio
import socket
import time
import traceback

import pytest
import redis

from {{ cookiecutter.project_slug }}.layers import redis as layers_redis
from {{ cookiecutter.project_slug }}.layers.redis import (
    MAX_CONNECTIONS,
    CancelSafeChannelLock,
    SingleReaderRedisChannelLayer,
)

pytestmark = pytest.mark.redis


async def two_receivers_cancelled(config, delay):
    """Two sockets of one process wait for messages; both close, `delay` seconds apart. Returns the
    receives still running 6 s later (each one is a socket task the server would wait for forever)."""
    layer = SingleReaderRedisChannelLayer(**config)
    channels = [await layer.new_channel() for _ in range(2)]
    await layer.send(channels[0], {"type": "warm.up"})
    await layer.receive(channels[0])
    receives = [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
    await asyncio.sleep(0.1)
    receives[0].cancel()
    await asyncio.sleep(delay)
    receives[1].cancel()
    _, stuck = await asyncio.wait(receives, timeout=6)
    for receive in stuck:
        receive.cancel()
    await layer.flush()
    return len(stuck)


async def test_closing_sockets_never_leaves_a_receive_running(channel_layers):
    # With a Redis read timeout, a cancelled receive could keep looping on Python 3.11 (settings sets none).
    config = channel_layers["default"]["CONFIG"]
    stuck = [await two_receivers_cancelled(config, delay) for delay in [0.0005, 0.001, 0.0015, 0.002] * 5]
    assert sum(stuck) == 0


async def test_the_reader_stopped_while_waiting_for_the_channel_lock_leaves_no_lock_behind(layer):
    # channels-redis counts it as a waiter forever; the leaked lock, tied to this event loop, makes a later
    # event loop's receive fail with "bound to a different event loop".
    assert isinstance(layer.receive_clean_locks, CancelSafeChannelLock)
    channel = await layer.new_channel()
    key = layer.prefix + layer.non_local_name(channel)
    await layer.receive_clean_locks.acquire(key)  # held, as while a message's backup is cleaned
    receive = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.1)
    assert layer.receive_clean_locks.wait_counts[key] == 2
    receive.cancel()
    await layer.close_pools()  # stops the reader, as the end of an event loop does
    layer.receive_clean_locks.release(key)
    assert layer.receive_clean_locks.locks == {}


async def test_a_socket_closing_while_a_message_for_another_is_popped_loses_nothing(layer):
    # channels-redis pops a process's messages in the receive() of whichever socket holds its lock; when
    # that socket closes just as Redis answers, the message it popped (for any socket) is lost.
    closing, other = await layer.new_channel(), await layer.new_channel()
    popping = asyncio.ensure_future(layer.receive(closing))
    await asyncio.sleep(0.1)  # waiting in Redis now for this process's next message
    # The message goes in as layer.send() puts it, but from a blocking client, so that this event loop has
    # not yet read Redis's answer when the socket closes.
    message = layer.serialize({"type": "chat.message", "text": "hello", "__asgi_channel__": other})
    with redis.Redis.from_url(layer.hosts[0]["address"]) as blocking:
        blocking.zadd(layer.prefix + layer.non_local_name(other), {message: time.time()})
    popping.cancel()
    await asyncio.gather(popping, return_exceptions=True)
    assert (await asyncio.wait_for(layer.receive(other), 2))["text"] == "hello"


async def test_receiving_on_another_layers_process_channel_is_refused_and_its_messages_stay_its_own(
    layer, channel_layers
):
    # Regression: receive() lost channels-redis's "Wrong client prefix" check, so this layer's reader popped
    # the other layer's (another process's) messages from Redis for good.
    other = SingleReaderRedisChannelLayer(**channel_layers["default"]["CONFIG"])
    channel = await other.new_channel()
    await send(layer, (channel, "for the other process"))
    with pytest.raises(AssertionError, match="Wrong client prefix"):
        await asyncio.wait_for(layer.receive(channel), 2)
    assert (await asyncio.wait_for(other.receive(channel), 2))["text"] == "for the other process"
    await other.flush()


def test_a_channel_received_in_one_event_loop_then_another_gets_its_messages(channel_layers):
    # Each test has its own event loop, and async_to_sync(layer.receive) makes one per call.
    layer = SingleReaderRedisChannelLayer(**channel_layers["default"]["CONFIG"])

    async def receive_as_it_comes(channel, text):
        receive = asyncio.ensure_future(layer.receive(channel))  # waiting ties its buffer to this loop
        await asyncio.sleep(0.1)
        await send(layer, (channel, text))
        return (await asyncio.wait_for(receive, 2))["text"]

    channel = asyncio.run(layer.new_channel())
    assert asyncio.run(receive_as_it_comes(channel, "one")) == "one"
    assert asyncio.run(receive_as_it_comes(channel, "two")) == "two"
    asyncio.run(layer.flush())


async def test_a_burst_of_sockets_joining_at_once_waits_for_connections_instead_of_failing(channel_layers):
    # redis-py's default pool raises MaxConnectionsError once all its connections are in use.
    layer = SingleReaderRedisChannelLayer(**channel_layers["default"]["CONFIG"])
    channels = [await layer.new_channel() for _ in range(MAX_CONNECTIONS * 3)]
    await asyncio.gather(*(layer.group_add("burst", channel) for channel in channels))
    await asyncio.gather(*(layer.group_discard("burst", channel) for channel in channels))
    await layer.flush()


GRACE = 0.2  # seconds, for LEFT_GRACE (5 s in a server)


async def a_socket_that_left(layer):
    channel = await layer.new_channel()
    receive = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.1)
    receive.cancel()  # Channels cancels a consumer's receive() when its socket closes
    await asyncio.gather(receive, return_exceptions=True)
    return channel


async def receive_after_a_sweep(layer, channel):
    await asyncio.sleep(GRACE * 1.5)  # past the grace, and past the next sweep
    return (await asyncio.wait_for(layer.receive(channel), 5))["text"]


@pytest.fixture
async def layer(channel_layers, monkeypatch):
    monkeypatch.setattr(layers_redis, "LEFT_GRACE", GRACE)
    layer = SingleReaderRedisChannelLayer(**channel_layers["default"]["CONFIG"])
    yield layer
    await layer.flush()


async def send(layer, *channels_and_texts):
    for channel, text in channels_and_texts:
        await layer.send(channel, {"type": "chat.message", "text": text})


async def test_messages_for_a_socket_that_left_are_dropped_and_a_live_sockets_are_kept(layer):
    # channels-redis keeps a message for a socket that has just closed in its buffer forever.
    live = await layer.new_channel()
    gone = await a_socket_that_left(layer)
    await send(layer, (gone, "too late"), (live, "first"), (live, "second"))

    # Receiving for the live socket pops (and buffers) the message for the gone one on the way.
    assert await receive_after_a_sweep(layer, live) == "first"
    assert gone not in layer.receive_buffer
    assert await receive_after_a_sweep(layer, live) == "second"


async def test_a_message_arriving_long_after_its_socket_left_is_dropped(layer):
    # A server behind on its messages pops some for sockets that left well before; they must not wait
    # for the 60 s expiry.
    live = await layer.new_channel()
    gone = await a_socket_that_left(layer)
    await send(layer, (live, "first"))
    assert await receive_after_a_sweep(layer, live) == "first"
    await send(layer, (gone, "far too late"), (live, "second"))

    assert await receive_after_a_sweep(layer, live) == "second"
    assert gone not in layer.receive_buffer
    assert len(layer.known) == 1  # the live socket's


async def test_busy_and_new_sockets_keep_their_messages(layer):
    # A consumer handling one message is not receiving, and a new channel may not have started to: the
    # messages popped for them meanwhile are their next.
    busy, new, other = [await layer.new_channel() for _ in range(3)]
    await send(layer, (busy, "first"))
    assert await receive_after_a_sweep(layer, busy) == "first"
    await send(layer, (busy, "next"), (new, "welcome"), (other, "other"))
    assert await receive_after_a_sweep(layer, other) == "other"
    assert await receive_after_a_sweep(layer, busy) == "next"
    assert await receive_after_a_sweep(layer, new) == "welcome"


async def test_each_socket_waiting_when_the_reader_fails_raises_an_error_of_its_own():
    # One error object raised in every socket collected their frames (each raise adds its own to the error's
    # traceback), so every socket of the process stayed reachable from each, and receive()'s frame holding it made
    # a reference cycle, which garbage.py may freeze until the next thaw.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # a port nothing listens on: Redis is gone
        address = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    layer = SingleReaderRedisChannelLayer(hosts=[address])
    channels = [await layer.new_channel() for _ in range(3)]
    errors = await asyncio.gather(*(layer.receive(channel) for channel in channels), return_exceptions=True)

    assert all(isinstance(error, redis.ConnectionError) for error in errors), errors
    assert len({id(error) for error in errors}) == 3
    assert errors[0].__cause__ is errors[1].__cause__  # the reader's own, with where Redis failed
    for error in errors:
        frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
        assert len(frames) == 1  # receive()'s, in this socket's task
        assert all(value is not error for value in frames[0].f_locals.values())  # no cycle through it
