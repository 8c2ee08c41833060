"""The garbage collector of a server process: its full collections stay short while thousands of sockets are open.

A full (generation 2) collection stalls every socket of the process for as long as it takes to walk every object
the collector tracks, and each open socket holds about a hundred (its middleware's coroutines, its consumer, its
channel's reader): at 1,000 sockets one took 0.1 s on a 2-core machine, and Python runs one whenever the old objects
have grown by a quarter. Two things keep them short, both with gc.freeze(), which moves every tracked object out of
the collector's sight (a frozen object is never collected, even when it becomes garbage):

- At startup: what startup loaded lives as long as the process.
- After each full collection: what survived it is alive (the collection has just freed every unreachable cycle),
  and most of it is long-lived (open sockets). The next full collection walks only what came after.

An object frozen alive whose reference cycle later becomes garbage stays in memory until it is thawed: every
THAW_SECONDS the next full collection walks everything again (one long pause) and frees it. A socket that closes
leaves no such cycle (it is freed by reference counting as it closes). An HTTP request does (Django's request,
session and resolver objects refer to one another): one in flight during a full collection is held up to
THAW_SECONDS longer, about 40 objects (3 KB) a request; 425 of them in a test of 4,000 requests and sockets, 200 at
a time.

Python 3.14's collector is incremental (its pauses are short by design, and its callbacks do not tell full
collections apart): there start() only freezes what startup loaded.
"""

import gc
import sys
import time

THAW_SECONDS = 600.0  # at most this long between two full collections that walk every object


class SurvivorFreezing:
    """A gc.callbacks hook: after each full collection, freeze what survived it; after one that ends THAW_SECONDS
    or more after the last thaw, unfreeze everything instead, so that the next full collection walks it all.
    start() puts it in place (and freezes what exists now); stop() takes it out (what is frozen stays frozen)."""

    def __init__(self, thaw_seconds: float = THAW_SECONDS) -> None:
        self.thaw_seconds = thaw_seconds
        self.thaw_at = 0.0

    def start(self) -> None:
        gc.freeze()
        self.thaw_at = time.monotonic() + self.thaw_seconds
        if sys.version_info < (3, 14):
            gc.callbacks.append(self.after_collection)

    def stop(self) -> None:
        if self.after_collection in gc.callbacks:
            gc.callbacks.remove(self.after_collection)

    def after_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop" or info["generation"] != 2:
            return
        now = time.monotonic()
        if now >= self.thaw_at:
            gc.unfreeze()  # the next full collection frees what died frozen; the one after freezes again
            self.thaw_at = now + self.thaw_seconds
        else:
            gc.freeze()
