"""Channels' consumer loop without a task and an asyncio.wait() per message (the one patch here that is not a layer).

Every consumer reads its two sources (the socket's `receive` and its channel on the layer) through Channels'
`channels.utils.await_many_dispatch`, which for every message creates a new task for the next read and waits on
all of them with `asyncio.wait(return_when=FIRST_COMPLETED)`: about 6 µs of CPU per message, a fifth of what
an echo costs the server (python/cpython#74741: asyncio.wait with FIRST_COMPLETED is slow). `await_many_dispatch`
below reads the socket in the consumer's own task and the channel in one reader task for the consumer's life.

What stays as in Channels (tests/test_dispatch.py runs each case on both loops): messages are dispatched one at a
time, in the order they arrive; a source is read again only once its last message has been dispatched (no
buffering: a slow consumer still pushes back on its client and on the layer); an error raised by a source or by
dispatch (StopConsumer included) ends the loop with that error, and nothing is dispatched after a dispatch that
raised; when the loop ends or is cancelled, the reads under way are cancelled; a contextvar a handler sets holds
in later handlers. What differs, on Python 3.11 only: a channel message's handler runs in a copy of the
consumer's context made when the loop starts, so what a handler sets after that (translation.activate() in
connect()) is not seen there; on 3.12+ both run in the consumer's own context.

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
    source (its channel) by a reader task of its own. They take turns, first come first served. A dispatch that
    raises ends the loop before anything else is dispatched. On Python 3.12+ the readers run in the calling task's
    context; on 3.11 (no Task.get_context()) in a copy of it made at the loop's start: a contextvar a socket
    handler sets after that (translation.activate() in connect()) is not seen by the channel's handlers there."""
    first, *others = consumer_callables
    turns = Turns()
    consumer = asyncio.current_task()
    assert consumer is not None
    running, failure = True, None

    async def read(source: Source) -> None:
        reader = asyncio.current_task()
        assert reader is not None
        try:
            while True:
                message = await source()
                await turns.take()
                try:
                    await dispatch(message)
                except BaseException as error:
                    if isinstance(error, asyncio.CancelledError) and reader.cancelling():
                        raise  # the loop ends: it cancelled its readers
                    end(error)  # still holding the turn: nothing is dispatched after a failed dispatch
                    return
                finally:
                    turns.pass_on()
        except asyncio.CancelledError as cancelled:
            if reader.cancelling():
                raise  # the loop ends: it cancelled its readers
            await fail(cancelled)  # the source itself was cancelled
        except BaseException as error:
            await fail(error)

    def end(error: BaseException) -> None:
        nonlocal failure
        if running and failure is None:
            failure = error
            consumer.cancel()

    async def fail(error: BaseException) -> None:
        await turns.take()  # once the message being dispatched is done, as Channels' loop would notice it
        try:
            end(error)
        finally:
            turns.pass_on()

    # Readers run in the consumer task's own context (Python 3.12+: Task.get_context()), so that what a handler
    # sets in a contextvar (translation.activate(), timezone.activate()) holds in every later handler, as in
    # Channels' loop. asyncio.Task, not create_task: an eager task factory would enter that context twice.
    get_context = getattr(consumer, "get_context", None)
    context = get_context() if get_context is not None else None
    readers = [asyncio.Task(read(source), context=context) for source in others]
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
            # Dropped from the closures' cell and this frame as it leaves: its traceback holds this frame and the
            # reader's, so either reference would make the whole socket a reference cycle.
            error, failure = failure, None
            try:
                raise error from None
            finally:
                del error
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
