"""Three echo consumers: the same job written at three levels, to show when to use which.

- EchoConsumer: the raw ASGI events. The least machinery, for protocols you shape yourself.
- JsonEchoConsumer: JSON in, JSON out. The usual choice for an app's own socket API.
- SyncEchoConsumer: plain synchronous code, run in a worker thread. Use it when each message calls
  blocking code (the ORM, a sync library); an async consumer must not block the event loop. OwnThreadMixin
  keeps a client that stops reading from stalling the thread every other socket's sync code shares.

Each declares its `contract`, what it accepts and sends (contracts.py beside this file): text for the raw and
sync ones, any JSON for the JSON one.
"""

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.generic.websocket import WebsocketConsumer

from {{ cookiecutter.project_slug }}.consumers import JsonConsumer, NoDbCleanupMixin, OwnThreadMixin


class EchoConsumer(NoDbCleanupMixin, AsyncConsumer):
    """Sends every frame back as it came, text or binary."""

    contract = "echo.contracts.TEXT"

    async def websocket_connect(self, event):
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, event):
        if event.get("text") is not None:
            await self.send({"type": "websocket.send", "text": event["text"]})
        else:
            await self.send({"type": "websocket.send", "bytes": event["bytes"]})

    async def websocket_disconnect(self, event):
        raise StopConsumer()


class JsonEchoConsumer(NoDbCleanupMixin, JsonConsumer):
    """Sends every JSON frame back; a frame that is not JSON gets {"error": ...}."""

    contract = "echo.contracts.JSON"

    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class SyncEchoConsumer(OwnThreadMixin, WebsocketConsumer):
    """Sends every frame back as it came, from a thread of its own."""

    contract = "echo.contracts.TEXT"

    def receive(self, text_data=None, bytes_data=None):
        self.send(text_data=text_data, bytes_data=bytes_data)
