"""Consumers and a base class shared by every app."""

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

NOT_FOUND = 4404  # close code: no socket route matches the path


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Ends sockets that match no route with a close code clients can read, not a failed handshake."""

    async def connect(self):
        await self.accept()
        await self.close(code=NOT_FOUND)


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """An AsyncJsonWebsocketConsumer that answers frames it cannot decode with an error frame.

    The stock class lets a malformed frame kill the connection; here the client learns what was wrong
    and the socket stays open. Subclasses implement receive_json(content) as usual.
    """

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
