"""ChannelBuffer: one channel's messages waiting to be received, as both layers keep one for each open socket.

Channels' InMemoryChannelLayer and channels-redis's receive buffers use asyncio.Queue, which holds four deques
even when empty, as an idle socket's channel is: about 3.3 KB. A ChannelBuffer keeps a list: about 0.1 KB, and
0.3 KB while a receive() waits on it, with that receive's future (tracemalloc, Python 3.11 and 3.13, 4,000
buffers made at once).
It has the part of asyncio.Queue the layers use, with the same order and the same answers (QueueFull, QueueEmpty,
a cancelled get() passing its wake-up on), and the attribute Channels' expiry scan reads: `_queue`, oldest first.
It is not tied to an event loop (a waiting get() is).
"""

import asyncio
from typing import Any


class ChannelBuffer:
    """A FIFO of at most `maxsize` items (0: no limit): put_nowait() raises asyncio.QueueFull when it is full,
    get_nowait() asyncio.QueueEmpty when it is empty; get() waits for an item."""

    __slots__ = ("maxsize", "_queue", "_getters")

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        # Oldest first. A list's pop(0) moves the rest: 0.4 µs at the layers' default capacity of 100, 5.6 µs at
        # 100,000 (asyncio.Queue's deque: 0.45 µs); a deque would cost 0.6 KB for every idle socket.
        self._queue: list[Any] = []
        self._getters: list[asyncio.Future[None]] | None = None  # get() calls waiting, first come first

    def qsize(self) -> int:
        return len(self._queue)

    def empty(self) -> bool:
        return not self._queue

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._queue)

    def put_nowait(self, item: Any) -> None:
        if self.full():
            raise asyncio.QueueFull
        self._queue.append(item)
        self._wake_next()

    def get_nowait(self) -> Any:
        if not self._queue:
            raise asyncio.QueueEmpty
        return self._queue.pop(0)

    async def get(self) -> Any:
        while not self._queue:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if self._getters and getter in self._getters:
                    self._getters.remove(getter)
                if self._queue and not getter.cancelled():
                    self._wake_next()  # it was woken for an item it will not take: the next get() takes it
                raise
        return self._queue.pop(0)

    def _wake_next(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                break
        if not getters:
            self._getters = None


class DropOldestChannelBuffer(ChannelBuffer):
    """channels-redis's BoundedQueue as a ChannelBuffer: put_nowait() on a full buffer drops the oldest item
    instead of raising (a socket that stopped reading must not grow without bound; channels_redis#212)."""

    __slots__ = ()

    def put_nowait(self, item: Any) -> None:
        if self.full():
            self._queue.pop(0)
        super().put_nowait(item)
