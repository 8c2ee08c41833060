"""FanOutInMemoryChannelLayer: Channels' InMemoryChannelLayer with a group_send whose cost per member does not
grow with the number of sockets in the process.

What it changes, and why:
- The full expiry scan (`_clean_expired`: every queue and every group membership) runs at most once per
  CLEAN_INTERVAL, not on every receive() and group_send(): per message it made a room of N sockets cost O(N^2).
  It only frees memory now. What Channels' scan would have done by then is done lazily, to each channel a call
  touches, so the public behaviour stays Channels' own: receive() never delivers a message past its expiry,
  group_send() skips (and takes out of every group) a member holding an expired message and drops a membership
  older than group_expiry, and send() and group_add() first drop what Channels' last scan (at the last receive()
  or group_send()) would have dropped.
- A queue is built only when a channel has none (Channels' `setdefault` builds a throwaway one on every call), and
  it is a ChannelBuffer (buffers.py), a tenth of an asyncio.Queue's memory.
- group_send puts into each member's queue directly, instead of starting a Task per member.
- Each member's copy of a message is made by copy_message(): what deepcopy returns, four times faster for the
  dicts, lists and plain values of a message (a message that holds one object twice gets two copies of it).

Contract: tests/test_layers_contract.py runs the same tests of the public layer API against Channels' class and
this one. Deliberate differences, each skipped for this class in CONTRACT_DIFFERENCES below (and only there):
none.

Upstream: no Channels issue tracks the per-message scan (channels#1976 reworked this layer and kept it).
Private members of channels.layers.InMemoryChannelLayer used here: `_clean_expired`, `channels` (channel ->
queue of (expires_at, message) pairs, read at `_queue[0]` as Channels' scan does), `groups`, `expiry`,
`group_expiry`, `get_capacity`, `_remove_from_groups` (its scan reads each queue's `empty()`, `_queue[0]` and
`get_nowait()`, which ChannelBuffer keeps); send(), receive() and group_send() are replaced whole.
Delete this file when Channels' own receive() and group_send() stop scanning every queue on each call; then point
settings.channel_layers_for at channels.layers.InMemoryChannelLayer, delete tests/test_layers_memory.py and run
tests/test_layers_contract.py on Channels' class alone.
"""

import asyncio
import time
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

from {{ cookiecutter.project_slug }}.layers.buffers import ChannelBuffer

CLEAN_INTERVAL = 1.0  # seconds between expiry scans
IMMUTABLE = frozenset({str, bytes, int, float, bool, type(None)})
# Contract test name -> why this class deliberately differs from Channels' there (listed in the docstring too).
CONTRACT_DIFFERENCES: dict[str, str] = {}


def copy_message(message):
    """What deepcopy(message) returns, sharing nothing mutable with `message`, in a quarter of its time for the
    dicts, lists and plain values messages hold (deepcopy keeps a memo of every object it copies)."""
    return {key: copy_value(value) for key, value in message.items()}


def copy_value(value):
    kind = type(value)
    if kind in IMMUTABLE:
        return value
    if kind is dict:
        return {key: copy_value(item) for key, item in value.items()}
    if kind is list:
        return [copy_value(item) for item in value]
    return deepcopy(value)  # anything else: tuples, sets, objects of the project's own


class FanOutInMemoryChannelLayer(InMemoryChannelLayer):
    _cleaned_at = 0.0  # time.monotonic() of the last full scan
    # time.time() of the last receive() or group_send(): Channels' scan then dropped every message expiring before
    _horizon = 0.0

    def _clean_expired(self):
        self._horizon = time.time()
        now = time.monotonic()
        if now - self._cleaned_at >= CLEAN_INTERVAL:
            self._cleaned_at = now
            super()._clean_expired()  # type: ignore[misc]  # private in Channels 4.3, absent from its stubs

    def _expire(self, channel, queue, before):
        """Drop the channel's messages that expire before `before` (the oldest come first) and, as Channels'
        scan does, take the channel out of every group if there was one. Returns whether any was dropped."""
        if queue.empty() or queue._queue[0][0] >= before:
            return False
        while not queue.empty() and queue._queue[0][0] < before:
            queue.get_nowait()
        self._remove_from_groups(channel)  # type: ignore[attr-defined]  # private in Channels 4.3, not in its stubs
        if queue.empty() and self.channels.get(channel) is queue:
            del self.channels[channel]
        return True

    def _queue(self, channel):
        queue = self.channels.get(channel)
        if queue is not None:
            return queue
        buffer = ChannelBuffer(self.get_capacity(channel))
        self.channels[channel] = buffer  # type: ignore[assignment]  # the stubs say asyncio.Queue
        return buffer

    def _put(self, channel, message):
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, copy_message(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        queue = self.channels.get(channel)
        if queue is not None:
            self._expire(channel, queue, self._horizon)  # what Channels' last scan dropped frees its room
        self._put(channel, message)

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            while True:
                expires_at, message = await queue.get()
                if expires_at >= time.time():
                    break
                # Expired in the queue: dropped, as Channels' scan does (private in Channels 4.3, not in its stubs).
                self._remove_from_groups(channel)  # type: ignore[attr-defined]
        finally:
            if queue.empty() and self.channels.get(channel) is queue:
                del self.channels[channel]
        return message

    async def group_add(self, group, channel):
        queue = self.channels.get(channel)
        if queue is not None:
            self._expire(channel, queue, self._horizon)  # it left its groups at Channels' last scan
        await super().group_add(group, channel)

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        now = self._horizon
        members = self.groups.get(group)
        if not members:
            return
        joined_before = int(now) - self.group_expiry  # Channels' own rounding
        for channel, joined_at in list(members.items()):
            if joined_at and joined_at < joined_before:
                members.pop(channel, None)  # membership older than group_expiry
                continue
            queue = self.channels.get(channel)
            if queue is not None and self._expire(channel, queue, now):
                continue  # it had an expired message, so it has left every group
            try:
                self._put(channel, message)
            except ChannelFull:
                pass
