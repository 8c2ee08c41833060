"""channels-redis's layer, with three fixes for a busy server.

- A connection pool that waits for a free connection instead of failing. Every concurrent group_add,
  group_discard and send borrows a pooled connection. redis-py's default pool raises MaxConnectionsError
  once 100 are in use, so a burst of sockets opening or closing at once (a server restart, many tabs
  reconnecting) failed handshakes with HTTP 500 and left stale group members behind.
- Messages for sockets that have left are forgotten. channels-redis keeps every message this process pops
  for one of its sockets in a buffer until that socket receives it, so a room message still on its way to
  a socket that has just closed stayed there forever (channels_redis#384): a minute of chat churn left
  19,000 buffers and 70 MB. Here the layer remembers only its live sockets: one is forgotten LEFT_GRACE
  seconds after its consumer stopped receiving (Channels cancels its receive() when the socket closes), or
  the layer's message expiry (60 s) after its last receive() returned, and a sweep every LEFT_GRACE
  seconds drops every buffer of a socket it does not remember, including messages that arrive long after.
- A receive cancelled while it waits for channels-redis's per-channel lock no longer leaves that lock
  behind, counted as waited for forever. The leaked lock stays tied to the event loop it first waited in,
  so a later event loop (each test has its own) that has to wait for it fails with "is bound to a
  different event loop".
"""

import asyncio
import collections
import time

import channels_redis.core
from redis.asyncio import BlockingConnectionPool

MAX_CONNECTIONS = 200  # per server process and Redis host (Redis accepts 10,000 clients by default)
WAIT_SECONDS = 20  # how long a command waits for a free connection before it fails
LEFT_GRACE = 5  # seconds: a receive() cancelled by a timeout, then called again, keeps its messages


class ChannelLock(channels_redis.core.ChannelLock):
    async def acquire(self, channel):
        try:
            return await super().acquire(channel)
        except asyncio.CancelledError:
            # Not acquired: this waiter no longer counts, and an unused lock goes, as release() does it.
            self.wait_counts[channel] -= 1
            if self.wait_counts[channel] < 1:
                del self.locks[channel]
                del self.wait_counts[channel]
            raise


class RedisChannelLayer(channels_redis.core.RedisChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.receive_clean_locks = ChannelLock()
        self.receiving = collections.Counter()  # channel: receive() calls waiting on it now
        self.known = {}  # channel: (when it was made or its last receive() ended, whether that receive was cancelled)
        self.next_sweep = time.monotonic()

    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:
            return super().create_pool(index)  # Sentinel hosts keep channels-redis's own pool.
        address = host.pop("address")
        return BlockingConnectionPool.from_url(address, max_connections=MAX_CONNECTIONS, timeout=WAIT_SECONDS, **host)

    async def new_channel(self, prefix="specific"):
        channel = await super().new_channel(prefix)
        self.known[channel] = (time.monotonic(), False)  # messages may come before its first receive()
        return channel

    async def receive(self, channel):
        self.receiving[channel] += 1
        cancelled = False
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            self.receiving[channel] -= 1
            if not self.receiving[channel]:
                del self.receiving[channel]
            now = time.monotonic()
            self.known[channel] = (now, cancelled)
            if now >= self.next_sweep:
                self.drop_abandoned_buffers(now)

    def drop_abandoned_buffers(self, now):
        self.next_sweep = now + LEFT_GRACE
        for channel, (since, cancelled) in list(self.known.items()):
            if channel not in self.receiving and now - since >= (LEFT_GRACE if cancelled else self.expiry):
                del self.known[channel]
        for channel in list(self.receive_buffer):
            if channel not in self.receiving and channel not in self.known:
                del self.receive_buffer[channel]
