"""history.py: seqs, retention, and CatchUpMixin's exactly-once, in-order catch-up, through a consumer of the
test's own, in this process on either layer (pytest and pytest --redis). Across real server processes and a
restart: the demo apps' chat tests (baked with include_demo_apps; pytest --redis) and their browser tests."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from django.db import transaction
from django.urls import path

from {{ cookiecutter.project_slug }} import history
from {{ cookiecutter.project_slug }}.consumers import JsonConsumer
from {{ cookiecutter.project_slug }}.models import Entry

pytestmark = pytest.mark.django_db(transaction=True)


class Follower(history.CatchUpMixin, JsonConsumer):
    """Follows the stream named in its path, as ChatConsumer follows a room."""

    recent = 3

    async def connect(self):
        stream = self.scope["url_route"]["kwargs"]["stream"]
        await self.channel_layer.group_add(stream, self.channel_name)
        await self.accept()
        await self.catch_up(stream)

    async def disconnect(self, code):
        if self.stream:
            await self.channel_layer.group_discard(self.stream, self.channel_name)


APPLICATION = URLRouter([path("history/<str:stream>/", Follower.as_asgi())])


def a_stream():
    return f"test.history.{uuid.uuid4().hex[:8]}"


@pytest.fixture
def follow(connect):
    """`await follow(stream, "since=3")`: a connected Follower socket (closed at teardown)."""

    def open_follower(stream, query=""):
        return connect(f"/history/{stream}/" + (f"?{query}" if query else ""), app=APPLICATION)

    return open_follower


async def frames(socket, count):
    return [await socket.receive_json_from(timeout=5) for _ in range(count)]


async def store(stream, *texts):
    """Store entries without sending their events: as if their events were lost, or still on their way."""
    return [await sync_to_async(history.store)(stream, {"text": text}) for text in texts]


async def send_late_event(stream, seq, text):
    """An event of an entry arriving again, or late (another process's, overtaken)."""
    event = {"type": history.HISTORY_EVENT, "stream": stream, "seq": seq, "data": {"text": text}}
    await get_channel_layer().group_send(stream, event)


async def test_a_socket_without_since_gets_live_entries_only_without_seqs(follow):
    stream = a_stream()
    await store(stream, "old")
    socket = await follow(stream)
    assert await socket.receive_nothing()
    assert await history.aappend(stream, {"text": "new"}) == 2
    assert await socket.receive_json_from() == {"text": "new"}


async def test_since_gets_every_entry_after_it_once_in_order_then_the_live_ones(follow):
    stream, other = a_stream(), a_stream()
    assert await store(stream, "1", "2", "3") == [1, 2, 3]
    assert await store(other, "a") == [1]  # each stream counts from 1
    socket = await follow(stream, "since=1")
    assert await frames(socket, 3) == [{"text": "2", "seq": 2}, {"text": "3", "seq": 3}, {"caught_up": 3}]

    for text in "456":
        await history.aappend(stream, {"text": text})
    assert await frames(socket, 3) == [{"text": text, "seq": int(text)} for text in "456"]
    await send_late_event(stream, 3, "3")  # an event sent again, or late: already sent, dropped
    await history.aappend(stream, {"text": "7"})
    assert await socket.receive_json_from() == {"text": "7", "seq": 7}  # the next frame: nothing came between


async def test_a_live_entry_after_a_gap_brings_the_missing_ones_from_the_database_first(follow):
    stream = a_stream()
    socket = await follow(stream, "since=0")
    assert await socket.receive_json_from() == {"caught_up": 0}
    await store(stream, "1", "2")  # their events are late (another process) or were dropped
    await history.aappend(stream, {"text": "3"})
    assert [frame["seq"] for frame in await frames(socket, 3)] == [1, 2, 3]
    for seq in (1, 2):
        await send_late_event(stream, seq, str(seq))  # the late events come in at last: nothing twice
    await history.aappend(stream, {"text": "4"})
    assert await socket.receive_json_from() == {"text": "4", "seq": 4}


async def test_since_recent_gets_the_last_few_and_then_where_to_reconnect_from(follow):
    empty, stream = a_stream(), a_stream()
    assert await (await follow(empty, "since=recent")).receive_json_from() == {"caught_up": 0}
    await store(stream, *"12345")
    socket = await follow(stream, "since=recent")  # Follower.recent = 3
    assert await frames(socket, 4) == [{"text": t, "seq": int(t)} for t in "345"] + [{"caught_up": 5}]


async def test_past_the_retention_limit_the_socket_is_told_what_is_no_longer_kept(follow, settings):
    settings.HISTORY_KEEP = 3
    stream = a_stream()
    await store(stream, *"12345")
    assert await sync_to_async(Entry.objects.filter(stream__name=stream).count)() == 3
    socket = await follow(stream, "since=0")
    assert await frames(socket, 5) == [
        {"missed": {"first": 1, "last": 2}},
        *[{"text": t, "seq": int(t)} for t in "345"],
        {"caught_up": 5},
    ]
    assert (await (await follow(stream, "since=1")).receive_json_from()) == {"missed": {"first": 2, "last": 2}}
    assert (await (await follow(stream, "since=2")).receive_json_from()) == {"text": "3", "seq": 3}


async def test_a_bad_since_gets_an_error_then_the_recent_entries_so_nothing_is_lost(follow):
    stream = a_stream()
    await store(stream, "1", "2")
    bad = ["abc", "-1", "1.5", "", "%D9%A3", "9" * 20, "2&since=1", "3"]  # ... "٣" (an Arabic 3), past the last
    for since in bad:
        socket = await follow(stream, f"since={since}")
        error, *rest = await frames(socket, 4)
        assert set(error) == {"error"}, (since, error)
        assert rest == [{"text": "1", "seq": 1}, {"text": "2", "seq": 2}, {"caught_up": 2}], since
    assert "past the last entry here (2)" in error["error"]
    await history.aappend(stream, {"text": "3"})  # and the socket goes on with live entries
    assert await socket.receive_json_from() == {"text": "3", "seq": 3}


async def test_append_sends_once_its_transaction_commits_and_a_rollback_leaves_no_gap(follow):
    stream = a_stream()
    socket = await follow(stream, "since=0")
    assert await socket.receive_json_from() == {"caught_up": 0}

    def append_then_roll_back():
        with transaction.atomic():
            history.append(stream, {"text": "never"})
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await sync_to_async(append_then_roll_back)()
    assert await socket.receive_nothing()

    def append_in_a_transaction():
        with transaction.atomic():
            seq = history.append(stream, {"text": "kept"})
            assert Entry.objects.filter(stream__name=stream).exists()  # stored, not sent yet
            return seq

    assert await sync_to_async(append_in_a_transaction)() == 1  # the rolled-back entry took no seq
    assert await socket.receive_json_from() == {"text": "kept", "seq": 1}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (["a list"], TypeError),
        ({"seq": 1}, TypeError),
        ({"x": object()}, TypeError),
        ({"x": ["a\x00"]}, ValueError),
        ({"x": {"\ud800": 1}}, ValueError),  # a lone surrogate: stored, it could not be sent over Redis
    ],
)
def test_what_cannot_be_an_entry_fails_in_the_callers_code(data, error):
    with pytest.raises(error):
        history.append("test.history.refused", data)
    assert not Entry.objects.exists()
