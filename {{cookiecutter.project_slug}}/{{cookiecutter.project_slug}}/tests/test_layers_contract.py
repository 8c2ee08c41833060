"""The public channel layer API, run against the library's own class and our patched one (layers/).

Channels ships no tests in its release, so these are our own tests of what its InMemoryChannelLayer does: every
one must pass on Channels' class and on FanOutInMemoryChannelLayer alike. A deliberate difference of ours is
skipped for our class only where its module says so (CONTRACT_DIFFERENCES in layers/memory.py, with the reason
in that module's docstring). channels-redis's own tests run against our Redis layer in the template's suite;
the Redis tests here (pytest --redis) cover what those miss of our patch: the one reader task per process.
"""

import asyncio

import pytest
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer

from {{ cookiecutter.project_slug }}.layers import memory
from {{ cookiecutter.project_slug }}.layers import redis as layers_redis
from {{ cookiecutter.project_slug }}.layers.memory import FanOutInMemoryChannelLayer
from {{ cookiecutter.project_slug }}.layers.redis import SingleReaderRedisChannelLayer

QUIET = 0.02  # seconds a receive() waits to show that nothing comes
WAIT = 5  # seconds a receive() of a message that was sent may take: a bound on hanging, not a speed limit


def make(request, stock, ours, module):
    if request.param == "ours":
        reason = module.CONTRACT_DIFFERENCES.get(request.node.originalname)
        if reason is not None:
            pytest.skip(f"a deliberate difference of ours: {reason}")
        return ours
    return stock


@pytest.fixture(params=["stock", "ours"])
def memory_layer(request):
    """`memory_layer(**config)`: Channels' InMemoryChannelLayer, or ours."""
    return make(request, InMemoryChannelLayer, FanOutInMemoryChannelLayer, memory)


async def scanned(layer):
    await layer.group_send("warm-up", message("nobody"))  # Channels' scan; ours: its first full scan
    return layer


def message(text, **extra):
    return {"type": "chat.message", "text": text, **extra}


async def texts(layer, channel, count):
    return [(await asyncio.wait_for(layer.receive(channel), WAIT))["text"] for _ in range(count)]


async def nothing_for(layer, channel):
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), QUIET)
    return True


# Send and receive


async def test_a_channel_delivers_its_messages_in_the_order_they_were_sent(memory_layer):
    layer = memory_layer()
    for text in ["one", "two", "three"]:
        await layer.send("inbox", message(text))
    await layer.send("other", message("elsewhere"))
    assert await texts(layer, "inbox", 3) == ["one", "two", "three"]
    assert await nothing_for(layer, "inbox")
    assert await texts(layer, "other", 1) == ["elsewhere"]


async def test_the_receiver_gets_a_copy_of_the_message_as_it_was_sent(memory_layer):
    layer = memory_layer()
    sent = message("hi", items=[1], meta={"seen": False})
    await layer.send("inbox", sent)
    sent["items"].append(2)
    sent["meta"]["seen"] = True
    sent["text"] = "changed"
    assert await asyncio.wait_for(layer.receive("inbox"), WAIT) == message("hi", items=[1], meta={"seen": False})


async def test_a_receive_on_a_channel_with_nothing_waits_for_the_next_message(memory_layer):
    layer = memory_layer()
    waiting = asyncio.ensure_future(layer.receive("never-used"))
    await asyncio.sleep(QUIET)
    assert not waiting.done()
    await layer.send("never-used", message("at last"))
    assert (await asyncio.wait_for(waiting, 1))["text"] == "at last"


async def test_a_cancelled_receive_loses_no_later_message(memory_layer):
    layer = memory_layer()
    waiting = asyncio.ensure_future(layer.receive("inbox"))
    await asyncio.sleep(QUIET)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await layer.send("inbox", message("after"))
    assert await texts(layer, "inbox", 1) == ["after"]


async def test_new_channels_are_unique_process_local_names_that_carry_messages(memory_layer):
    layer = memory_layer()
    names = [await layer.new_channel() for _ in range(200)] + [await layer.new_channel("chat.")]
    assert len(set(names)) == len(names)
    for name in names:
        assert layer.require_valid_channel_name(name)
        assert "!" in name and not name.endswith("!")
    assert names[0].startswith("specific.") and names[-1].startswith("chat.")
    await layer.send(names[0], message("local"))
    assert await texts(layer, names[0], 1) == ["local"]


@pytest.mark.parametrize("name", ["has space", "ünïcode", "x" * 100, "", "!bang-first", 42])
async def test_an_invalid_channel_name_is_a_type_error_everywhere(memory_layer, name):
    layer = memory_layer()
    with pytest.raises(TypeError):
        await layer.send(name, message("x"))
    with pytest.raises(TypeError):
        await asyncio.wait_for(layer.receive(name), WAIT)
    with pytest.raises(TypeError):
        await layer.group_add("room", name)
    with pytest.raises(TypeError):
        await layer.group_discard("room", name)


@pytest.mark.parametrize("name", ["has space", "with!bang", "ünïcode", "x" * 100, ""])
async def test_an_invalid_group_name_is_a_type_error_everywhere(memory_layer, name):
    layer = memory_layer()
    with pytest.raises(TypeError):
        await layer.group_add(name, "inbox")
    with pytest.raises(TypeError):
        await layer.group_discard(name, "inbox")
    with pytest.raises(TypeError):
        await layer.group_send(name, message("x"))


async def test_a_message_must_be_a_dict_without_the_reserved_channel_key(memory_layer):
    layer = memory_layer()
    with pytest.raises(AssertionError):
        await layer.send("inbox", ["not", "a", "dict"])
    with pytest.raises(AssertionError):
        await layer.group_send("room", "not a dict")
    with pytest.raises(AssertionError):
        await layer.send("inbox", message("x", __asgi_channel__="inbox"))


# Capacity


async def test_a_full_channel_refuses_a_send_until_a_receive_makes_room(memory_layer):
    layer = memory_layer(capacity=2)
    await layer.send("inbox", message("one"))
    await layer.send("inbox", message("two"))
    with pytest.raises(ChannelFull):
        await layer.send("inbox", message("three"))
    await layer.send("other", message("unaffected"))
    assert await texts(layer, "inbox", 1) == ["one"]
    await layer.send("inbox", message("three"))
    assert await texts(layer, "inbox", 2) == ["two", "three"]


async def test_a_group_send_skips_a_full_member_without_raising_and_reaches_the_others(memory_layer):
    layer = memory_layer(capacity=1)
    for channel in ["full", "free"]:
        await layer.group_add("room", channel)
    await layer.send("full", message("direct"))
    await layer.group_send("room", message("to all"))
    assert await texts(layer, "full", 1) == ["direct"]
    assert await nothing_for(layer, "full")
    assert await texts(layer, "free", 1) == ["to all"]


# Groups


async def test_a_group_send_reaches_each_member_once_with_its_own_copy(memory_layer):
    layer = memory_layer()
    for channel in ["a", "b", "c"]:
        await layer.group_add("room", channel)
    await layer.group_add("room", "a")  # twice: still one member
    await layer.group_send("room", message("hi", items=[1]))
    received = [await asyncio.wait_for(layer.receive(channel), WAIT) for channel in ["a", "b", "c"]]
    received[0]["items"].append(2)
    assert [each["items"] for each in received] == [[1, 2], [1], [1]]
    assert await nothing_for(layer, "a")


async def test_a_discarded_member_gets_no_more_group_messages(memory_layer):
    layer = memory_layer()
    for channel in ["stays", "leaves"]:
        await layer.group_add("room", channel)
    await layer.group_discard("room", "leaves")
    await layer.group_discard("room", "never-joined")
    await layer.group_discard("no-such-room", "stays")
    await layer.group_send("room", message("after"))
    assert await texts(layer, "stays", 1) == ["after"]
    assert await nothing_for(layer, "leaves")


async def test_a_channel_in_two_groups_gets_both_groups_messages_and_other_groups_none(memory_layer):
    layer = memory_layer()
    await layer.group_add("room-1", "both")
    await layer.group_add("room-2", "both")
    await layer.group_add("room-3", "elsewhere")
    await layer.group_send("room-1", message("one"))
    await layer.group_send("room-2", message("two"))
    await layer.group_send("empty-room", message("nobody"))
    assert await texts(layer, "both", 2) == ["one", "two"]
    assert await nothing_for(layer, "elsewhere")


async def test_group_messages_and_direct_messages_keep_one_order(memory_layer):
    layer = memory_layer()
    await layer.group_add("room", "inbox")
    await layer.send("inbox", message("direct 1"))
    await layer.group_send("room", message("group 1"))
    await layer.send("inbox", message("direct 2"))
    assert await texts(layer, "inbox", 3) == ["direct 1", "group 1", "direct 2"]


async def test_flush_forgets_every_message_and_every_group(memory_layer):
    layer = memory_layer()
    await layer.group_add("room", "inbox")
    await layer.send("inbox", message("before"))
    await layer.flush()
    await layer.group_send("room", message("after"))
    assert await nothing_for(layer, "inbox")
    assert {"groups", "flush"} <= set(layer.extensions)
    await layer.close()


# Expiry of messages


async def test_a_message_past_its_expiry_is_never_received(memory_layer, clock):
    layer = memory_layer(expiry=10)
    await layer.send("inbox", message("first"))
    await layer.send("inbox", message("stale"))
    assert await texts(layer, "inbox", 1) == ["first"]
    clock.advance(11)
    await layer.send("inbox", message("fresh"))
    assert await texts(layer, "inbox", 1) == ["fresh"]
    assert await nothing_for(layer, "inbox")


async def test_of_many_queued_messages_only_those_within_their_expiry_are_received(memory_layer, clock):
    layer = await scanned(memory_layer(expiry=10))
    for text in ["a", "b"]:
        await layer.send("inbox", message(text))
    assert await texts(layer, "inbox", 1) == ["a"]  # a receive, so also a scan of every channel
    clock.advance(6)
    for text in ["c", "d"]:
        await layer.send("inbox", message(text))
    clock.advance(6)  # b is 12 s old, c and d 6 s
    await layer.send("inbox", message("e"))
    assert await texts(layer, "inbox", 3) == ["c", "d", "e"]
    assert await nothing_for(layer, "inbox")


async def test_an_expired_message_stops_counting_against_capacity_once_any_receive_has_run(memory_layer, clock):
    layer = await scanned(memory_layer(expiry=10, capacity=1))
    await layer.send("inbox", message("old"))
    clock.advance(11)
    assert await nothing_for(layer, "other")  # Channels drops expired messages on any receive or group send
    await layer.send("inbox", message("new"))
    assert await texts(layer, "inbox", 1) == ["new"]


async def test_a_channel_holding_an_expired_message_leaves_every_group(memory_layer, clock):
    layer = await scanned(memory_layer(expiry=10))
    for channel in ["idle", "busy"]:
        await layer.group_add("room-1", channel)
    await layer.group_add("room-2", "idle")
    await layer.send("idle", message("unread"))
    clock.advance(11)
    await layer.group_send("room-1", message("first"))
    await layer.group_send("room-2", message("second"))
    assert await texts(layer, "busy", 1) == ["first"]
    assert await nothing_for(layer, "idle")  # neither the expired message nor anything sent after it


async def test_a_channel_that_left_its_groups_on_expiry_can_join_again(memory_layer, clock):
    layer = await scanned(memory_layer(expiry=10))
    await layer.group_add("room", "idle")
    await layer.send("idle", message("unread"))
    clock.advance(11)
    assert await nothing_for(layer, "someone-else")  # Channels' scan: idle leaves the room now
    await layer.group_add("room", "idle")  # a fresh join, after that
    await layer.group_send("room", message("welcome back"))
    assert await texts(layer, "idle", 1) == ["welcome back"]


async def test_a_direct_send_to_a_channel_whose_message_expired_still_arrives(memory_layer, clock):
    layer = await scanned(memory_layer(expiry=10))
    await layer.send("inbox", message("unread"))
    clock.advance(11)
    await layer.send("inbox", message("direct"))
    assert await texts(layer, "inbox", 1) == ["direct"]


# Expiry of group memberships


async def test_a_group_membership_expires_after_group_expiry_and_a_new_group_add_renews_it(memory_layer, clock):
    layer = await scanned(memory_layer(group_expiry=100))
    for channel in ["old", "renewed", "new"]:
        await layer.group_add("room", channel)
    clock.advance(60)
    await layer.group_add("room", "renewed")
    await layer.group_send("room", message("at 60 s"))
    clock.advance(60)
    await layer.group_add("room", "new")
    await layer.group_send("room", message("at 120 s"))
    assert await texts(layer, "old", 1) == ["at 60 s"]
    assert await nothing_for(layer, "old")
    assert await texts(layer, "renewed", 2) == ["at 60 s", "at 120 s"]
    assert await texts(layer, "new", 2) == ["at 60 s", "at 120 s"]


async def test_messages_already_queued_outlive_the_membership_that_brought_them(memory_layer, clock):
    layer = await scanned(memory_layer(group_expiry=100, expiry=1000))
    await layer.group_add("room", "member")
    await layer.group_send("room", message("while a member"))
    clock.advance(200)
    await layer.group_send("room", message("after"))
    assert await texts(layer, "member", 1) == ["while a member"]
    assert await nothing_for(layer, "member")


# Redis (pytest --redis): what channels-redis's own tests miss of our patch, the one reader task per process


@pytest.fixture(params=["stock", "ours"])
async def redis_layers(request, channel_layers, monkeypatch):
    """`await redis_layers(count)`: that many layer instances (as many server processes) of Channels-redis's
    class, or ours, on the session's private Redis; flushed at teardown."""
    monkeypatch.setattr(layers_redis, "LEFT_GRACE", 0.2)
    layer_class = make(request, RedisChannelLayer, SingleReaderRedisChannelLayer, layers_redis)
    made = []

    async def layers(count=1):
        made.extend(layer_class(**channel_layers["default"]["CONFIG"]) for _ in range(count))
        return made[-count:]

    yield layers
    for layer in made:
        await layer.flush()


@pytest.mark.redis
async def test_many_sockets_of_one_process_receiving_at_once_each_get_their_own_messages_in_order(redis_layers):
    [layer] = await redis_layers()
    channels = [await layer.new_channel() for _ in range(20)]
    receiving = [asyncio.ensure_future(texts(layer, channel, 3)) for channel in channels]
    await asyncio.sleep(0.1)
    for number in range(3):
        for index, channel in enumerate(reversed(channels)):
            await layer.send(channel, message(f"{len(channels) - 1 - index}.{number}"))
    received = await asyncio.wait_for(asyncio.gather(*receiving), 5)
    assert received == [[f"{index}.{number}" for number in range(3)] for index in range(len(channels))]


@pytest.mark.redis
async def test_a_group_spanning_processes_reaches_each_socket_in_each_process(redis_layers):
    processes = await redis_layers(2)
    sockets = [(layer, await layer.new_channel()) for layer in processes for _ in range(3)]
    for _, channel in sockets:
        await processes[0].group_add("room", channel)
    await processes[1].group_send("room", message("to all"))
    for layer, channel in sockets:
        assert await texts(layer, channel, 1) == ["to all"]


@pytest.mark.redis
async def test_messages_sent_before_a_socket_first_receives_wait_for_it(redis_layers):
    [layer] = await redis_layers()
    early, busy = await layer.new_channel(), await layer.new_channel()
    await layer.send(early, message("early"))
    await layer.send(busy, message("busy 1"))
    assert await texts(layer, busy, 1) == ["busy 1"]  # the process is reading now
    await asyncio.sleep(0.5)  # past our grace for sockets that left: early has not left, it never started
    await layer.send(busy, message("busy 2"))
    assert await texts(layer, busy, 1) == ["busy 2"]
    assert await texts(layer, early, 1) == ["early"]


@pytest.mark.redis
async def test_a_receive_cancelled_by_a_timeout_then_called_again_loses_nothing(redis_layers):
    [layer] = await redis_layers()
    channel = await layer.new_channel()
    for round_ in range(3):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), QUIET)
        await layer.send(channel, message(f"after timeout {round_}"))
        assert await texts(layer, channel, 1) == [f"after timeout {round_}"]


@pytest.mark.redis
async def test_a_socket_of_one_process_never_receives_on_another_process_channel(redis_layers):
    mine, theirs = await redis_layers(2)
    channel = await theirs.new_channel()
    await mine.send(channel, message("theirs"))
    with pytest.raises(AssertionError, match="Wrong client prefix"):
        await asyncio.wait_for(mine.receive(channel), WAIT)
    assert await texts(theirs, channel, 1) == ["theirs"]
