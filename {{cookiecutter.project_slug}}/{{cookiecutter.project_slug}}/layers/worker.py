"""BoundedWorker: Channels' Worker (what `runworker` and the in-process workers run), taking a message off
the channel layer only when the channel's consumer is free to handle it, and stopping cleanly on SIGTERM.

What it changes, and why:
- Channels' Worker.listener moves every message off the layer as soon as it arrives, into the consumer's
  unbounded asyncio.Queue (asgiref's StatelessServer makes it). The layer's per-channel capacity then never
  fills, so a sender is never told ChannelFull: 100,000 queued jobs sit in the worker's memory, each answered
  "queued", and a later job waits behind all of them. Here a listener receives a message only while the consumer
  waits for one: at most one message per channel is off the layer (the one running), the rest wait in the
  layer, where its `capacity` bounds them and a sender gets ChannelFull.
- stop() (runworker calls it on SIGTERM and SIGINT, as `systemctl stop/restart` sends): no new message is taken;
  the running one gets up to `grace` seconds to finish, else it is handed back: sent again to its channel for
  the next worker, and cancelled here. A handed-back job runs again from the start (write jobs so that is safe).
  A message popped by a receive() that the stop cancels may still be lost (channels-redis's receive is not
  cancel-safe: channels_redis#366).

Private members used: asgiref.server.StatelessServer's `get_or_create_application_instance` (replaced whole,
to give each consumer a HandoffQueue) and `arun` (replaced whole, to stop its checker), `application_instances`,
`max_applications`, `delete_oldest_application_instance`; Channels' Worker.listener (replaced whole).

Contract: tests/test_layers_worker.py runs the same delivery tests on Channels' Worker and this class, and shows
the difference (the stock class empties the layer). Upstream: none filed (Channels' docs call runworker "a
simple worker"). Delete this file if Channels' Worker gains a bound on the messages it holds; then use
channels.worker.Worker in lifespan.py and management/commands/runworker.py.
"""

import asyncio
import logging
import signal
import time
from typing import Any

from asgiref.compatibility import guarantee_single_callable
from channels.worker import Worker

logger = logging.getLogger(__name__)

GRACE_SECONDS = 20  # on stop, how long the running message may still take before it is handed back


class HandoffQueue(asyncio.Queue[dict[str, Any]]):
    """A one-place queue that says when its consumer is waiting for the next message (`waiting` is set)."""

    def __init__(self):
        super().__init__(maxsize=1)
        self.waiting = asyncio.Event()

    async def get(self):
        if self.empty():
            self.waiting.set()
        try:
            return await super().get()
        finally:
            self.waiting.clear()


class BoundedWorker(Worker):
    """Channels' Worker holding at most one message per channel (the one its consumer runs); stop() ends it."""

    def __init__(self, *args, grace=GRACE_SECONDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.grace = grace
        self.stopping: asyncio.Event | None = None  # made in the worker's event loop
        self.running = {}  # channel -> the message its consumer is handling

    def run(self):
        """As Channels' run() (what `runworker` calls), with stop() on SIGTERM and SIGINT."""

        async def main():
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.stop)
            await self.arun()

        asyncio.run(main())

    async def arun(self):
        """StatelessServer.arun, also stopping its application checker when the listeners end."""
        if self.stopping is None:
            self.stopping = asyncio.Event()
        checker = asyncio.ensure_future(self.application_checker())
        try:
            await self.handle()
        finally:
            checker.cancel()
            await asyncio.gather(checker, return_exceptions=True)

    def get_or_create_application_instance(self, scope_id, scope):
        if scope_id in self.application_instances:
            self.application_instances[scope_id]["last_used"] = time.time()
            return self.application_instances[scope_id]["input_queue"]
        while len(self.application_instances) > self.max_applications:
            self.delete_oldest_application_instance()
        input_queue = HandoffQueue()
        instance = guarantee_single_callable(self.application)
        future = asyncio.ensure_future(
            instance(scope=scope, receive=input_queue.get, send=lambda message: self.application_send(scope, message))
        )
        self.application_instances[scope_id] = {
            "input_queue": input_queue,
            "future": future,
            "scope": scope,
            "last_used": time.time(),
        }
        return input_queue

    async def listener(self, channel):
        scope = {"type": "channel", "channel": channel}
        assert self.stopping is not None  # arun() made it
        while not self.stopping.is_set():
            queue = self.get_or_create_application_instance(channel, scope)
            # Take a message only once the consumer waits for one: the rest stay in the layer.
            if not await self.until_set_or_stopping(queue.waiting):
                break
            self.running.pop(channel, None)
            receive = asyncio.ensure_future(self.channel_layer.receive(channel))
            if not await self.until_done_or_stopping(receive):
                break
            message = receive.result()
            if not message.get("type", None):
                raise ValueError("Worker received message with no type.")
            self.running[channel] = message
            queue.put_nowait(message)
        await self.finish(channel)

    async def until_set_or_stopping(self, event):
        waiter = asyncio.ensure_future(event.wait())
        return await self.until_done_or_stopping(waiter)

    async def until_done_or_stopping(self, future):
        assert self.stopping is not None  # arun() made it
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({future, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if future.done():
            return True
        future.cancel()
        await asyncio.gather(future, return_exceptions=True)
        return False

    async def finish(self, channel):
        """On stop: let the running message finish within `grace` seconds, else hand it back to the layer."""
        details = self.application_instances.get(channel)
        message = self.running.get(channel)
        if details is None or message is None:
            return
        try:
            await asyncio.wait_for(details["input_queue"].waiting.wait(), self.grace)
            logger.info("Worker stopping: the message on %r finished.", channel)
        except TimeoutError:
            await self.channel_layer.send(channel, message)
            details["future"].cancel()
            logger.warning("Worker stopping: a %r message on %r went back to the layer.", message["type"], channel)
        self.running.pop(channel, None)

    def stop(self):
        """Take no more messages; arun() ends once the running ones finished or were handed back. Call it in
        the worker's event loop."""
        if self.stopping is None:
            self.stopping = asyncio.Event()
        self.stopping.set()
