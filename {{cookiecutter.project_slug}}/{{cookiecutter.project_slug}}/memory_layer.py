"""Channels' InMemoryChannelLayer without its per-message costs that grow with the number of sockets.

The stock layer scans every queue and every group membership (`_clean_expired`) on each receive() and
group_send(): a message to a room of N sockets costs O(N^2), 40% of the server's time with 1,000 listeners.
It also builds a throwaway asyncio.Queue on every send and receive (a `setdefault` default), one Task per
member in group_send, and a deepcopy per member. Here the scan runs at most once per CLEAN_INTERVAL (messages
and memberships still expire, up to that much later), queues are built only when missing, group_send puts
into the queues directly, and a message whose values are all immutable is copied with dict() (what deepcopy
would return for it); any other message is still deep-copied for each member.
"""

import asyncio
import time
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer

CLEAN_INTERVAL = 1.0  # seconds between expiry scans
IMMUTABLE = frozenset({str, bytes, int, float, bool, type(None)})


def copy_message(message):
    for value in message.values():
        if type(value) not in IMMUTABLE:
            return deepcopy(message)
    return dict(message)


class InMemoryChannelLayer(StockInMemoryChannelLayer):
    _cleaned_at = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._cleaned_at >= CLEAN_INTERVAL:
            self._cleaned_at = now
            super()._clean_expired()

    def _queue(self, channel):
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    def _put(self, channel, message):
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, copy_message(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message)

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty() and self.channels.get(channel) is queue:
                del self.channels[channel]
        return message

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message)
            except ChannelFull:
                pass
