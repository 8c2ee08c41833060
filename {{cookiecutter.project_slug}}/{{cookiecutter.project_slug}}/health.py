"""A dependency that is down degrades the service, never stops it: what a process does while Redis is away.

- Readiness: `is_ready()` and `unready_reasons()` tell whether the channel layer answers now (for a /readyz view,
  a log, a test). The server sets it at start and re-checks every RECHECK_SECONDS (lifespan.py calls
  `watch_channel_layer`); a socket that fails because Redis is gone sets it at once. Every change is logged.
- Sockets: `DependencyGuard` (outermost in asgi.py's WebSocket and channel stacks) closes a socket whose consumer failed
  because Redis is unreachable with TRY_AGAIN_LATER (1013), logged in one line instead of a traceback; the
  pages keep loading meanwhile, and clients reconnect once Redis is back.
- Workers: `wait_for_channel_layer` blocks until Redis answers, logging the first failure and the recovery;
  runworker calls it before it starts and after it lost Redis.
"""

import asyncio
import logging
import time

import redis
from channels import DEFAULT_CHANNEL_LAYER

logger = logging.getLogger(__name__)

# Redis errors that mean "not reachable now" (refused, reset, timed out, no pooled connection free).
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)
RECHECK_SECONDS = 10  # how often a server re-checks the channel layer
WAIT_SECONDS_MAX = 10  # runworker's longest pause between two attempts while Redis is away
TRY_AGAIN_LATER = 1013  # WebSocket close code: "Try Again Later" (RFC 6455 registry)

CHANNEL_LAYER = "channel_layer"
_unready = {}  # dependency -> why it is not usable now


def is_ready():
    """Whether every dependency this process uses answered at its last check."""
    return not _unready


def unready_reasons():
    """dependency -> the reason it is not usable now (empty when ready)."""
    return dict(_unready)


def report(dependency, problem):
    """Record the state of `dependency` (`problem`: None when it works) and log each change, once."""
    before = _unready.get(dependency)
    if problem:
        _unready[dependency] = problem
        if before is None:
            logger.warning("Not ready: %s. Pages are still served; sockets that need it are closed.", problem)
    elif _unready.pop(dependency, None) is not None:
        logger.warning("Ready again: the %s answers.", dependency.replace("_", " "))


def channel_layer_problem(alias=DEFAULT_CHANNEL_LAYER):
    """One line saying which Redis hosts of the layer do not answer, or None (also for the in-memory layer)."""
    from {{ cookiecutter.project_slug }}.checks import redis_problems

    errors = redis_problems(alias)
    return "; ".join(f"({error.id}) {error.msg}" for error in errors) or None


async def check_channel_layer():
    from asgiref.sync import sync_to_async

    report(CHANNEL_LAYER, await sync_to_async(channel_layer_problem)())


async def watch_channel_layer(interval=RECHECK_SECONDS):
    """Re-check the channel layer every `interval` seconds until cancelled (at server shutdown)."""
    while True:
        await asyncio.sleep(interval)
        await check_channel_layer()


def wait_for_channel_layer(alias=DEFAULT_CHANNEL_LAYER, log=logger.warning, sleep=time.sleep):
    """Return once every Redis host of the layer answers; until then retry, pausing up to WAIT_SECONDS_MAX."""
    pause = 1
    problem = channel_layer_problem(alias)
    if problem:
        log(f"{problem} Waiting for it; retrying every {WAIT_SECONDS_MAX} s at most.")
        while problem:
            sleep(pause)
            pause = min(pause * 2, WAIT_SECONDS_MAX)
            problem = channel_layer_problem(alias)
        log("Redis answers again: starting.")


class DependencyGuard:
    """ASGI middleware: a consumer that fails because Redis is unreachable ends with one log line, not a traceback.
    A WebSocket is closed with TRY_AGAIN_LATER (accepted first, so the client can read the code)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        sent = set()

        async def tracking_send(message):
            sent.add(message["type"])
            await send(message)

        try:
            return await self.application(scope, receive, tracking_send)
        except UNREACHABLE as error:
            report(CHANNEL_LAYER, f"the channel layer cannot reach Redis: {error}")
            if scope["type"] != "websocket":
                logger.warning("Worker for channel %s stopped: Redis is unreachable.", scope.get("channel"))
                return None
            logger.warning("WebSocket %s closed with %s: Redis is unreachable.", scope.get("path"), TRY_AGAIN_LATER)
            if "websocket.close" in sent:
                return None
            try:
                if "websocket.accept" not in sent:
                    await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})
            except (OSError, RuntimeError):
                pass  # the client is gone already
            return None
