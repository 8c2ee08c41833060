"""OwnThreadMixin's ceiling: one OS thread per socket, so at most MAX_THREAD_SOCKETS of them per process; the
next socket is closed with BUSY (4503) and a socket may open again once one has closed."""

import pytest
from channels.generic.websocket import WebsocketConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path

from {{ cookiecutter.project_slug }} import consumers
from {{ cookiecutter.project_slug }}.consumers import BUSY, OwnThreadMixin


class SyncEcho(OwnThreadMixin, WebsocketConsumer):
    def receive(self, text_data=None, bytes_data=None):
        self.send(text_data=text_data)


class OtherSyncEcho(SyncEcho):
    pass


router = URLRouter([path("sync/", SyncEcho.as_asgi()), path("other/", OtherSyncEcho.as_asgi())])


@pytest.fixture
def limit(monkeypatch):
    monkeypatch.setattr(consumers, "MAX_THREAD_SOCKETS", 3)
    return 3


async def open_socket(route):
    socket = WebsocketCommunicator(router, route)
    connected, _ = await socket.connect()
    assert connected
    return socket


async def test_sockets_over_the_limit_are_closed_with_busy_and_one_may_open_after_another_closed(limit, caplog):
    sockets = [await open_socket("/sync/"), await open_socket("/other/"), await open_socket("/sync/")]
    for socket in sockets:
        await socket.send_to(text_data="hi")
        assert await socket.receive_from() == "hi"
    refused = await open_socket("/other/")  # the limit counts every consumer with the mixin
    assert await refused.receive_output() == {"type": "websocket.close", "code": BUSY}
    # It said "refused", while the client was accepted and then read the code.
    assert f"OtherSyncEcho closed a socket with {BUSY} at its handshake: this process already holds 3" in caplog.text
    await sockets.pop().disconnect()
    sockets.append(await open_socket("/other/"))
    await sockets[-1].send_to(text_data="again")
    assert await sockets[-1].receive_from() == "again"
    for socket in sockets:
        await socket.disconnect()
    assert consumers.thread_sockets.open == 0
