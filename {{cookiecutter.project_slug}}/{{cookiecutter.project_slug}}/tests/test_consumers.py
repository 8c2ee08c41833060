"""NoDbCleanupMixin: which consumers skip Channels' per-message database cleanup, and which keep it."""

import logging

import channels.consumer
import pytest
from channels.db import DatabaseSyncToAsync, database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.urls import path

from {{ cookiecutter.project_slug }}.consumers import NoDbCleanupMixin


class TutorialEcho(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


class LeanEcho(NoDbCleanupMixin, TutorialEcho):
    groups = ["lean-echoes"]

    async def echo_message(self, event):
        await self.send(text_data=event["text"])


class LeanUserCount(NoDbCleanupMixin, AsyncWebsocketConsumer):
    """Uses the database the way the mixin allows: through database_sync_to_async."""

    async def receive(self, text_data=None, bytes_data=None):
        count = await database_sync_to_async(get_user_model().objects.count)()
        await self.send(text_data=str(count))


router = URLRouter(
    [path("tutorial/", TutorialEcho.as_asgi()), path("lean/", LeanEcho.as_asgi()), path("db/", LeanUserCount.as_asgi())]
)


@pytest.fixture
def cleanups(monkeypatch):
    """Counts Channels' per-message cleanup (aclose_old_connections before each handler).

    (channels.testing swaps close_old_connections itself for a no-op while a communicator sends or receives,
    so the count is taken one level up.)
    """
    calls = []
    real = channels.consumer.aclose_old_connections

    async def counted():
        calls.append(1)
        await real()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    return calls


@pytest.fixture
def database_calls(monkeypatch):
    """Counts calls run through database_sync_to_async, which closes old connections before and after each."""
    calls = []
    real = DatabaseSyncToAsync.thread_handler

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DatabaseSyncToAsync, "thread_handler", counted)
    return calls


async def talk(path, frames):
    communicator = WebsocketCommunicator(router, path)
    assert (await communicator.connect())[0]
    replies = []
    for frame in frames:
        await communicator.send_to(text_data=frame)
        replies.append(await communicator.receive_from())
    await communicator.disconnect()
    return replies


@pytest.mark.django_db(transaction=True)
async def test_channels_cleans_up_before_every_message_of_a_plain_consumer(cleanups):
    assert await talk("tutorial/", ["a"] * 10) == ["a"] * 10
    assert len(cleanups) >= 10


@pytest.mark.django_db(transaction=True)
async def test_the_mixin_skips_the_per_message_cleanup(cleanups):
    assert await talk("lean/", ["a"] * 10) == ["a"] * 10
    assert len(cleanups) == 0


@pytest.mark.django_db(transaction=True)
async def test_database_code_under_the_mixin_still_gets_fresh_connections(cleanups, database_calls, make_user):
    await make_user("alice")
    assert await talk("db/", ["count?"] * 5) == ["1"] * 5
    assert len(cleanups) == 0
    # Each query ran in database_sync_to_async, which closes stale connections around it.
    assert len(database_calls) >= 5


@pytest.mark.django_db(transaction=True)
async def test_a_message_type_without_handler_is_logged_and_the_socket_lives_on(caplog):
    communicator = WebsocketCommunicator(router, "lean/")
    assert (await communicator.connect())[0]
    with caplog.at_level(logging.WARNING):
        layer = get_channel_layer()
        await layer.group_send("lean-echoes", {"type": "nobody.handles.this"})
        # Layer messages arrive in order: once this one is answered, the one before was handled.
        await layer.group_send("lean-echoes", {"type": "echo.message", "text": "still here"})
        assert await communicator.receive_from() == "still here"
    await communicator.disconnect()
    assert "LeanEcho has no handler for a 'nobody.handles.this' message" in caplog.text
