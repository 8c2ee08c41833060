"""Consumers and a base class shared by every app."""

import json
import logging

from asgiref.sync import ThreadSensitiveContext
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from {{ cookiecutter.project_slug }}.push import topic_group, user_group

NOT_FOUND = 4404  # close code: no socket route matches the path
UNAUTHORIZED = 4401  # close code: the socket needs a logged-in user (session cookie or ?token=)
GONE = 1006  # the code disconnect() gets when the client vanished without a close frame

logger = logging.getLogger(__name__)


class NoDbCleanupMixin:
    """For async consumers whose handlers never await the async ORM (`aget`, `acreate`, `async for`...).

    Channels runs `close_old_connections()` in a worker thread before every message a consumer handles, a
    thread hop that costs more than an echo itself. This mixin skips it. Database code run through
    `database_sync_to_async` stays correct: that wrapper closes old connections around each call itself.
    A consumer that awaits the async ORM must keep Channels' own dispatch: leave this mixin out.

    It also keeps the consumer alive when a layer message has a `type` it has no handler for: a stray
    group_send is logged and dropped, instead of killing the socket with ValueError.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            logger.warning("%s has no handler for a %r message: dropped.", type(self).__name__, message["type"])
            return
        await handler(message)


class OwnThreadMixin:
    """For sync consumers (WebsocketConsumer, JsonWebsocketConsumer): run this socket's handlers in a thread
    of its own.

    Channels runs every sync handler of the process, and the auth and session lookups of every handshake, in
    one shared thread. A sync handler's `self.send()` waits there until the client takes the data, so one
    client that stops reading would stall every new socket of the server. Here it stalls only itself. The
    price is one thread per open socket of this consumer: for many sockets, write an async consumer.
    """

    async def __call__(self, scope, receive, send):
        async with ThreadSensitiveContext():
            await super().__call__(scope, receive, send)


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Ends sockets that match no route with a close code clients can read, not a failed handshake."""

    async def connect(self):
        await self.accept()
        await self.close(code=NOT_FOUND)


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """An AsyncJsonWebsocketConsumer that answers frames it cannot decode with an error frame.

    The stock class lets a malformed frame kill the connection; here the client learns what was wrong
    and the socket stays open. Subclasses implement receive_json(content) as usual.

    It also runs disconnect() when a handler fails, typically sending to a client that has just gone
    (uvicorn raises ClientDisconnected): the stock class skips disconnect() then, so the socket's groups
    kept it as a member for a day (channels' group_expiry), collecting messages nobody reads.
    """

    disconnected = False

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            if not self.disconnected:
                await self.disconnect(GONE)
            raise

    async def websocket_disconnect(self, message):
        self.disconnected = True
        await super().websocket_disconnect(message)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self.send_error("Binary frames are not accepted: send JSON text.")
            return
        try:
            content = await self.decode_json(text_data)
        except json.JSONDecodeError as error:
            await self.send_error(f"Malformed JSON: {error.msg} at position {error.pos}.")
            return
        await self.receive_json(content, **kwargs)

    async def send_error(self, message):
        await self.send_json({"error": message})


class PushConsumer(JsonConsumer):
    """A socket for logged-in users that receives what push.apush() sends to its topic's groups.

    On connect it joins the user's group for `topic` (so pushes reach every tab of that user) and, with
    `broadcasts = True`, the topic's group for everyone. Anonymous sockets are closed with UNAUTHORIZED.
    """

    topic = None
    broadcasts = False
    groups_joined = ()

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept first: a close code is only readable by the client after the handshake.
            await self.accept()
            await self.close(code=UNAUTHORIZED)
            return
        self.groups_joined = [user_group(self.topic, user)]
        if self.broadcasts:
            self.groups_joined.append(topic_group(self.topic))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def push_message(self, event):
        await self.send_json(event["payload"])
