"""channels-redis's layer, with two fixes for a busy server.

- A connection pool that waits for a free connection instead of failing. Every concurrent group_add,
  group_discard and send borrows a pooled connection. redis-py's default pool raises MaxConnectionsError
  once 100 are in use, so a burst of sockets opening or closing at once (a server restart, many tabs
  reconnecting) failed handshakes with HTTP 500 and left stale group members behind.
- Messages for sockets that have left are forgotten. channels-redis keeps every message this process pops
  for one of its sockets in a buffer until that socket receives it, so a room message still on its way to
  a socket that has just closed stayed there forever (channels_redis#384): a minute of chat churn left
  19,000 buffers and 70 MB. Here a socket's buffer goes LEFT_GRACE seconds after its consumer stopped
  receiving (Channels cancels its receive() when the socket closes), and any buffer nobody has received
  from for the layer's message expiry (60 s) goes too.
"""

import asyncio
import collections
import time

import channels_redis.core
from redis.asyncio import BlockingConnectionPool

MAX_CONNECTIONS = 200  # per server process and Redis host (Redis accepts 10,000 clients by default)
WAIT_SECONDS = 20  # how long a command waits for a free connection before it fails
LEFT_GRACE = 5  # seconds: a receive() cancelled by a timeout, then called again, keeps its messages


class RedisChannelLayer(channels_redis.core.RedisChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.receiving = collections.Counter()  # channel: receive() calls waiting on it now
        self.idle_since = {}  # channel: when its last receive() returned, or a sweep first saw it idle
        self.left_at = {}  # channel: when its receive() was cancelled
        self.next_sweep = time.monotonic()

    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:
            return super().create_pool(index)  # Sentinel hosts keep channels-redis's own pool.
        address = host.pop("address")
        return BlockingConnectionPool.from_url(address, max_connections=MAX_CONNECTIONS, timeout=WAIT_SECONDS, **host)

    async def receive(self, channel):
        self.receiving[channel] += 1
        self.left_at.pop(channel, None)
        try:
            return await super().receive(channel)
        except asyncio.CancelledError:
            self.left_at[channel] = time.monotonic()
            raise
        finally:
            self.receiving[channel] -= 1
            if not self.receiving[channel]:
                del self.receiving[channel]
            now = self.idle_since[channel] = time.monotonic()
            if now >= self.next_sweep:
                self.drop_abandoned_buffers(now)

    def drop_abandoned_buffers(self, now):
        self.next_sweep = now + LEFT_GRACE
        for channel in list(self.receive_buffer):
            if channel in self.receiving:
                continue
            left = now - self.left_at.get(channel, now) >= LEFT_GRACE
            if left or now - self.idle_since.setdefault(channel, now) >= self.expiry:
                del self.receive_buffer[channel]
        for times, keep_for in [(self.left_at, LEFT_GRACE), (self.idle_since, self.expiry)]:
            for channel, since in list(times.items()):
                if channel not in self.receive_buffer and now - since >= keep_for:
                    del times[channel]
