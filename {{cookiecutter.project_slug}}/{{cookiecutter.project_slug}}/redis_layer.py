"""channels-redis's layer, with four fixes for a busy server.

- One task per event loop pops this process's messages from Redis into its sockets' buffers, and a
  socket's receive() only waits on its own buffer. channels-redis has whichever socket is receiving do the
  popping, so a socket that closed just as Redis handed it a message for another socket lost that message
  (the cancelled read drops the answer): under chat churn a client now and then never heard its own message.
  It is also faster: no lock, no extra tasks per message.
- A connection pool that waits for a free connection instead of failing. Every concurrent group_add,
  group_discard and send borrows a pooled connection. redis-py's default pool raises MaxConnectionsError
  once 100 are in use, so a burst of sockets opening or closing at once (a server restart, many tabs
  reconnecting) failed handshakes with HTTP 500 and left stale group members behind.
- Messages for sockets that have left are forgotten. A room message still on its way to a socket that has
  just closed would wait in its buffer forever (channels_redis#384): a minute of chat churn left 19,000
  buffers and 70 MB. Here the layer remembers only its live sockets: one is forgotten LEFT_GRACE seconds
  after its consumer stopped receiving (Channels cancels its receive() when the socket closes), or the
  layer's message expiry (60 s) after its last receive() returned, and a sweep every LEFT_GRACE seconds
  drops every buffer of a socket it does not remember, including messages that arrive long after.
- The popping task, stopped while it waits for channels-redis's per-channel lock, no longer leaves that
  lock behind, counted as waited for forever. The leaked lock stays tied to the event loop it first
  waited in, so a later event loop (each test has its own) that has to wait for it fails with "is bound
  to a different event loop".
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
        self.readers = {}  # this process's channel in Redis: the task popping its messages
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
        if "!" not in channel:
            return await super().receive(channel)  # a worker's channel, shared by every process
        assert self.require_valid_channel_name(channel)
        self.keep_reading(self.non_local_name(channel))
        self.receiving[channel] += 1
        cancelled = False
        try:
            message = await self.receive_buffer[channel].get()
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            self.receiving[channel] -= 1
            if not self.receiving[channel]:
                del self.receiving[channel]
                if cancelled and self.receive_buffer[channel].empty():
                    del self.receive_buffer[channel]
            now = time.monotonic()
            self.known[channel] = (now, cancelled)
            if now >= self.next_sweep:
                self.drop_abandoned_buffers(now)
        if isinstance(message, Exception):
            raise message  # Redis failed under the reader (see reader_stopped)
        return message

    def keep_reading(self, process_channel):
        """Starts the task that pops the messages of this process's sockets, unless it runs in this loop."""
        loop = asyncio.get_running_loop()
        reader = self.readers.get(process_channel)
        if reader is not None and not reader.done():
            if reader.get_loop() is loop:
                return
            if not reader.get_loop().is_closed():
                raise RuntimeError("Two event loops are trying to receive() on one channel layer at once!")
        if reader is not None and reader.get_loop() is not loop:
            self.move_buffers_to_this_loop()
        reader = self.readers[process_channel] = loop.create_task(self.read(process_channel))
        reader.add_done_callback(self.reader_stopped)

    async def read(self, process_channel):
        while True:
            channels, message = await self.receive_single(process_channel)
            for channel in channels if isinstance(channels, list) else [channels]:
                self.receive_buffer[channel].put_nowait(message)

    def reader_stopped(self, reader):
        if reader.cancelled():
            return  # its event loop is ending, or the pools are closing
        # The sockets waiting now raise the error, and so close (clients reconnect); the next receive()
        # starts a new reader.
        error = reader.exception()
        for channel in self.receiving:
            self.receive_buffer[channel].put_nowait(error)

    def move_buffers_to_this_loop(self):
        """A queue that has been waited on is tied to that event loop: the new loop (a test's) gets copies."""
        self.receiving.clear()  # receives of a closed loop never finish
        for channel, old in list(self.receive_buffer.items()):
            new = self.receive_buffer[channel] = channels_redis.core.BoundedQueue(self.capacity)
            while not old.empty():
                new.put_nowait(old.get_nowait())

    async def close_pools(self):
        readers = [reader for reader in self.readers.values() if reader.get_loop() is asyncio.get_running_loop()]
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await super().close_pools()

    def drop_abandoned_buffers(self, now):
        self.next_sweep = now + LEFT_GRACE
        for channel, (since, cancelled) in list(self.known.items()):
            if channel not in self.receiving and now - since >= (LEFT_GRACE if cancelled else self.expiry):
                del self.known[channel]
        for channel in list(self.receive_buffer):
            if channel not in self.receiving and channel not in self.known:
                del self.receive_buffer[channel]
