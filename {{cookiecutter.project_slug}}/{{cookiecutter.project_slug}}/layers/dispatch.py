"""Channels' consumer loop without a task and an asyncio.wait() per message (the one patch here that is not a layer).

Every consumer reads its two sources (the socket's `receive` and its channel on the layer) through Channels'
`channels.utils.await_many_dispatch`, which for every message creates a new task for the next read and waits on
all of them with `asyncio.wait(return_when=FIRST_COMPLETED)`: about 6 µs of CPU per message, a fifth of what
an echo costs the server (python/cpython#74741: asyncio.wait with FIRST_COMPLETED is slow). `await_many_dispatch`
below keeps one reader task per source for the consumer's life, which hands each message over and waits until it
has been dispatched.

What stays as in Channels (tests/test_dispatch.py runs each case on both loops): messages are dispatched one at a
time, in the order they arrive; a source is read again only once its last message has been dispatched (no
buffering: a slow consumer still pushes back on its client and on the layer); an error raised by a source or by
dispatch (StopConsumer included) ends the loop with that error; when the loop ends or is cancelled, the reads
under way are cancelled.

`install()` puts it in place of the name `channels.consumer` calls (apps.py calls it at startup). It can go when
Channels' own loop stops creating a task per message (django/channels#2228 reworks it): check at each Channels
minor (layers.PATCHED_MINORS; checks.py fails another minor).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import channels.consumer

Source = Callable[[], Awaitable[Any]]


async def await_many_dispatch(consumer_callables: Sequence[Source], dispatch: Callable[[Any], Awaitable[Any]]) -> None:
    """Call `dispatch(message)` with each message that the `consumer_callables` (async callables of no arguments)
    return, one at a time; never returns: it ends with the first error of a source or of dispatch, re-raised.

    The first source (a consumer's socket `receive`) is read and dispatched by the calling task itself; each other
    source (its channel) by a reader task of its own. They take turns, first come first served. A message from a
    reader is dispatched in that reader's task: a contextvar a handler sets is seen by later handlers of the same
    source, not of the other (the context they start from is the caller's at the loop's start)."""
    first, *others = consumer_callables
    turns = Turns()
    consumer = asyncio.current_task()
    assert consumer is not None
    running, failure = True, None

    async def read(source: Source) -> None:
        try:
            while True:
                message = await source()
                await turns.take()
                try:
                    await dispatch(message)
                finally:
                    turns.pass_on()
        except asyncio.CancelledError as cancelled:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the loop ends: it cancelled its readers
            await fail(cancelled)  # the source itself was cancelled
        except BaseException as error:
            await fail(error)

    async def fail(error: BaseException) -> None:
        nonlocal failure
        await turns.take()  # once the message being dispatched is done, as Channels' loop would notice it
        try:
            if running and failure is None:
                failure = error
                consumer.cancel()
        finally:
            turns.pass_on()

    readers = [asyncio.create_task(read(source)) for source in others]
    try:
        while True:
            message = await first()
            await turns.take()
            try:
                await dispatch(message)
            finally:
                turns.pass_on()
    except asyncio.CancelledError:
        if failure is not None and consumer.uncancel() == 0:  # cancelled by a reader, not from outside
            raise failure from None
        raise
    finally:
        running = False
        for reader in readers:
            reader.cancel()
        for reader in readers:
            try:
                await reader
            except asyncio.CancelledError:
                pass


class Turns:
    """asyncio.Lock's fairness without its cost on every message: take() returns at once when no one holds the
    turn (asyncio.Lock's acquire() is two coroutines, and a generator over its waiters once it has had any), else
    waits first come first served; pass_on() gives the turn to the next waiter."""

    def __init__(self) -> None:
        self.taken = False
        self.waiting: list[asyncio.Future[None]] = []  # a list: an empty deque takes 0.6 KB, for every socket

    async def take(self) -> None:
        if not self.taken and not self.waiting:
            self.taken = True
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn  # pass_on() leaves `taken` set for us
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.pass_on()  # given the turn, then cancelled before it ran: the next waiter's
            elif turn in self.waiting:  # pass_on() drops cancelled turns it meets
                self.waiting.remove(turn)
            raise

    def pass_on(self) -> None:
        while self.waiting:
            turn = self.waiting.pop(0)
            if not turn.done():
                turn.set_result(None)
                return
        self.taken = False


def install() -> None:
    """Make every consumer of this process use await_many_dispatch above instead of Channels' own."""
    # The stubs leave the name out of channels.consumer: it is imported there, not defined.
    channels.consumer.await_many_dispatch = await_many_dispatch  # type: ignore[attr-defined,unused-ignore]


def installed() -> bool:
    """Whether install() has run: Channels' consumers call await_many_dispatch above."""
    return channels.consumer.await_many_dispatch is await_many_dispatch  # type: ignore[attr-defined,unused-ignore]
