"""FanOutInMemoryChannelLayer keeps the semantics of Channels' own in-memory layer (layers/memory.py)."""

import asyncio
from copy import deepcopy

import pytest
from channels.exceptions import ChannelFull

from {{ cookiecutter.project_slug }}.layers import memory
from {{ cookiecutter.project_slug }}.layers.memory import FanOutInMemoryChannelLayer

WAIT = 5  # seconds a receive() of a message that was sent may take: a bound on hanging, not a speed limit


async def received(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), WAIT)


async def joined(layer, group, count):
    channels = [await layer.new_channel() for _ in range(count)]
    for channel in channels:
        await layer.group_add(group, channel)
    return channels


async def test_each_member_of_a_group_gets_its_own_copy_of_a_message():
    layer = FanOutInMemoryChannelLayer()
    channels = await joined(layer, "room", 3)
    await layer.group_send("room", {"type": "chat.message", "text": "hi", "payload": {"items": [1]}})
    messages = [await received(layer, channel) for channel in channels]
    messages[0]["payload"]["items"].append(2)
    assert [message["payload"]["items"] for message in messages] == [[1, 2], [1], [1]]
    assert {message["text"] for message in messages} == {"hi"}


def test_a_copy_equals_deepcopys_and_shares_nothing_mutable():
    message = {
        "type": "history.entry",
        "seq": 3,
        "data": {"message": "hi", "tags": ["a", {"b": [1.5, None, True]}], "raw": b"x"},
        "pair": ([1], "two"),
        "seen": {1, 2},
    }
    copy = memory.copy_message(message)
    assert copy == deepcopy(message)
    mutable = [(copy, message), (copy["data"], message["data"]), (copy["data"]["tags"], message["data"]["tags"])]
    mutable += [(copy["data"]["tags"][1]["b"], message["data"]["tags"][1]["b"]), (copy["pair"][0], message["pair"][0])]
    mutable += [(copy["seen"], message["seen"])]
    assert all(ours is not theirs for ours, theirs in mutable)


async def test_a_full_socket_misses_room_messages_and_a_direct_send_to_it_raises():
    layer = FanOutInMemoryChannelLayer(capacity=1)
    channels = await joined(layer, "room", 2)
    for text in ["first", "second"]:
        await layer.group_send("room", {"type": "chat.message", "text": text})
    with pytest.raises(ChannelFull):
        await layer.send(channels[0], {"type": "chat.message", "text": "direct"})
    assert [(await received(layer, channel))["text"] for channel in channels] == ["first", "first"]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channels[0]), 0.1)


async def test_an_expired_message_is_dropped_with_its_sockets_memberships(monkeypatch, clock):
    monkeypatch.setattr(memory, "CLEAN_INTERVAL", 0)
    layer = FanOutInMemoryChannelLayer(expiry=10)
    gone, live = await joined(layer, "room", 2)
    await layer.send(gone, {"type": "chat.message", "text": "never read"})
    clock.advance(11)
    await layer.send(live, {"type": "chat.message", "text": "read"})
    assert (await received(layer, live))["text"] == "read"
    assert gone not in layer.channels
    assert list(layer.groups["room"]) == [live]


async def test_a_message_past_its_expiry_is_never_delivered(clock):
    # Regression: the expiry scan runs at most once per CLEAN_INTERVAL, and receive() delivered the next
    # message without looking at its expiry (Channels' own test_expiry_multi caught it).
    layer = FanOutInMemoryChannelLayer(expiry=10)
    for text in ["first", "stale", "staler"]:
        await layer.send("chat", {"type": "chat.message", "text": text})
    assert (await received(layer, "chat"))["text"] == "first"  # this receive() runs the scan
    clock.advance(11)
    await layer.send("chat", {"type": "chat.message", "text": "fresh"})
    assert (await received(layer, "chat"))["text"] == "fresh"  # well within CLEAN_INTERVAL of that scan
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive("chat"), 0.1)
