"""The channels-redis settings against a real Redis (pytest --redis)."""

import asyncio

import pytest

from {{ cookiecutter.project_slug }} import redis_layer
from {{ cookiecutter.project_slug }}.redis_layer import MAX_CONNECTIONS, RedisChannelLayer

pytestmark = pytest.mark.redis


async def two_receivers_cancelled(config, delay):
    """Two sockets of one process wait for messages; both close, `delay` seconds apart. Returns the
    receives still running 6 s later (each one is a socket task the server would wait for forever)."""
    layer = RedisChannelLayer(**config)
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
    # With a read timeout set, about one run in four left a receive looping forever on Python 3.11.
    config = channel_layers["default"]["CONFIG"]
    stuck = [await two_receivers_cancelled(config, delay) for delay in [0.0005, 0.001, 0.0015, 0.002] * 5]
    assert sum(stuck) == 0


async def test_a_burst_of_sockets_joining_at_once_waits_for_connections_instead_of_failing(channel_layers):
    # redis-py's default pool raised MaxConnectionsError on the 101st concurrent command.
    layer = RedisChannelLayer(**channel_layers["default"]["CONFIG"])
    channels = [await layer.new_channel() for _ in range(MAX_CONNECTIONS * 3)]
    await asyncio.gather(*(layer.group_add("burst", channel) for channel in channels))
    await asyncio.gather(*(layer.group_discard("burst", channel) for channel in channels))
    await layer.flush()


async def test_messages_for_a_socket_that_left_are_dropped_and_a_live_sockets_are_kept(channel_layers, monkeypatch):
    # channels-redis kept a message for a socket that had just closed in its buffer forever.
    monkeypatch.setattr(redis_layer, "LEFT_GRACE", 0)
    layer = RedisChannelLayer(**channel_layers["default"]["CONFIG"])
    gone, live = [await layer.new_channel() for _ in range(2)]
    receive = asyncio.ensure_future(layer.receive(gone))
    await asyncio.sleep(0.1)
    receive.cancel()  # Channels cancels a consumer's receive() when its socket closes
    await asyncio.gather(receive, return_exceptions=True)
    await layer.send(gone, {"type": "chat.message", "text": "too late"})
    for text in ["first", "second"]:
        await layer.send(live, {"type": "chat.message", "text": text})

    # Receiving for the live socket pops (and buffers) the message for the gone one on the way.
    assert (await layer.receive(live))["text"] == "first"
    assert gone not in layer.receive_buffer
    assert (await layer.receive(live))["text"] == "second"
    await layer.flush()
