"""A dependency that is down degrades the service, never stops it: what a process does while Redis is away.

- Readiness: `is_ready()` and `unready_reasons()` tell whether the channel layer (and, once /readyz has asked, the
  database) answered at its last check. The server sets it at start and re-checks every RECHECK_SECONDS
  (lifespan.py calls `watch_channel_layer`); a socket that fails because Redis is gone sets it at once; each
  /readyz request checks again (`readiness_problems`). Every change is logged, once.
- Probes: /healthz (views.healthz) answers while the process runs, with no I/O; /readyz (views.readyz) answers
  503 naming each dependency that failed `readiness_problems()`. `QuietProbes` keeps them out of the servers'
  access log (apps.py installs it in every process).
- Sockets: `DependencyGuard` (outermost in asgi.py's WebSocket and channel stacks) closes a socket whose consumer failed
  because Redis is unreachable with TRY_AGAIN_LATER (1013), logged in one line instead of a traceback; the
  pages keep loading meanwhile, and clients reconnect once Redis is back.
- Workers: `wait_for_channel_layer` blocks until Redis answers, logging the first failure and the recovery;
  runworker calls it before it starts and after it lost Redis.
"""

import asyncio
import functools
import logging
import time
import weakref
from typing import Any

from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 10  # how often a server re-checks the channel layer
WAIT_SECONDS_MAX = 10  # runworker's longest pause between two attempts while Redis is away
TRY_AGAIN_LATER = 1013  # WebSocket close code: "Try Again Later" (RFC 6455 registry)
# Each check of /readyz gets this long (they run side by side, so /readyz answers within about this long too):
# short, so a hung Redis or database makes the probe fail rather than hang it and the prober behind it.
PROBE_TIMEOUT_SECONDS = 2
PROBE_PATHS = ("/healthz", "/readyz")  # as urls.py routes them

CHANNEL_LAYER = "channel_layer"
DATABASE = "database"
# What a dependency that is down costs, for the line that logs it, in a server process and in a worker process
# (management/commands/runworker.py and db_worker.py set `process_kind`).
SERVER, WORKER, DB_WORKER = "server", "worker", "db_worker"
CONSEQUENCES = {
    SERVER: {
        CHANNEL_LAYER: "Pages are still served; sockets that need it are closed.",
        DATABASE: "Pages and sockets that read or write data fail.",
    },
    WORKER: {
        CHANNEL_LAYER: "The worker waits for it; a job it was running, if any, is lost.",
        DATABASE: "Jobs that read or write data fail.",
    },
    DB_WORKER: {
        CHANNEL_LAYER: "Durable jobs go on without pushing their progress; their pages catch up when they reconnect.",
        DATABASE: "The worker stops; its running jobs run again once it is restarted.",
    },
}
process_kind = SERVER
_unready: dict[str, str] = {}  # dependency -> why it is not usable now


@functools.cache
def unreachable_errors() -> tuple[type[Exception], ...]:
    """The Redis errors that mean "not reachable now" (refused, reset, timed out, no pooled connection free), for
    `except unreachable_errors():`. They include a refused password (redis-py's AuthenticationError is a
    ConnectionError): handlers ask misconfiguration() first. redis is imported at the first call, which an except
    clause makes only when an error is raised: a project on the in-memory layer never imports it (a third of a
    process's start)."""
    import redis

    return (redis.ConnectionError, redis.TimeoutError)


def misconfiguration(error, sentinel=None):
    """What to correct when the Redis `error` comes from a wrong setting rather than a Redis that is away: a
    phrase naming the variable, or None. A refused password is a redis.ConnectionError too, so code that catches
    unreachable_errors() asks this first: waiting for Redis will not fix a setting. `sentinel`: whether Redis is
    reached through REDIS_SENTINELS (default: as the channel layer's settings say)."""
    import redis

    from {{ cookiecutter.project_slug }}.sentinel import NotASentinel, SentinelPasswordError

    if sentinel is None:
        sentinel = uses_sentinels()
    if isinstance(error, SentinelPasswordError):
        return "wrong password for the sentinels: set REDIS_SENTINEL_PASSWORD to their requirepass"
    if isinstance(error, NotASentinel):
        return "an address in REDIS_SENTINELS is not a sentinel: list only the sentinels' host:port"
    if isinstance(error, redis.AuthenticationError):
        variable = (
            "REDIS_SENTINEL_MASTER_PASSWORD (the master's requirepass)" if sentinel else "the password in REDIS_URL"
        )
        return f"wrong password for Redis: correct {variable}"
    if isinstance(error, redis.ResponseError) and "DB index is out of range" in str(error):
        variable = "REDIS_SENTINEL_DB" if sentinel else "the database number in REDIS_URL"
        return f"no such database in Redis: correct {variable} (0-15 unless Redis's `databases` allows more)"
    return None


def uses_sentinels(alias=DEFAULT_CHANNEL_LAYER):
    """Whether the channel layer `alias` reaches Redis through sentinels (REDIS_SENTINELS)."""
    from django.conf import settings

    hosts = settings.CHANNEL_LAYERS.get(alias, {}).get("CONFIG", {}).get("hosts", [])
    return any(isinstance(host, dict) and "master_name" in host for host in hosts)


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
            consequence = CONSEQUENCES[process_kind].get(dependency, "")
            logger.warning("Not ready: %s. %s", problem.rstrip(". "), consequence)
    elif _unready.pop(dependency, None) is not None:
        logger.warning("Ready again: the %s answers.", dependency.replace("_", " "))


def report_redis_error(error):
    """Record that the channel layer failed with the Redis `error` (one of unreachable_errors()) and return what
    to correct when a setting caused it (misconfiguration()), else None: Redis is away."""
    fix = misconfiguration(error)  # a refused password is a ConnectionError too
    problem = f"cannot use Redis: {fix}" if fix else f"cannot reach Redis: {one_line(error)}"
    report(CHANNEL_LAYER, f"the channel layer {problem}")
    return fix


def channel_layer_problem(alias=DEFAULT_CHANNEL_LAYER):
    """One line saying which Redis hosts of the layer do not answer, or None (also for the in-memory layer)."""
    from {{ cookiecutter.project_slug }}.checks import redis_problems

    errors = redis_problems(alias)
    return "; ".join(f"({error.id}) {error.msg}" for error in errors) or None


async def check_channel_layer():
    report(CHANNEL_LAYER, await sync_to_async(channel_layer_problem)())


async def watch_channel_layer(interval=RECHECK_SECONDS):
    """Re-check the channel layer every `interval` seconds until cancelled (at server shutdown)."""
    while True:
        await asyncio.sleep(interval)
        await check_channel_layer()


async def readiness_problems():
    """Check the database and the channel layer now, side by side, each within PROBE_TIMEOUT_SECONDS; record each
    result with report(). Returns {dependency: one-line reason} for each that failed (DATABASE, CHANNEL_LAYER),
    empty when both work."""
    timeout = PROBE_TIMEOUT_SECONDS
    checks = {
        DATABASE: database_check(),
        CHANNEL_LAYER: channel_layer_round_trip_problem(),
    }
    problems = await asyncio.gather(*(within(timeout, check) for check in checks.values()))
    for dependency, problem in zip(checks, problems, strict=True):
        report(dependency, problem)
    return {dependency: problem for dependency, problem in zip(checks, problems, strict=True) if problem}


# The database check in flight, per event loop (a loop that is gone takes its entry with it).
_database_checks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[str | None]] = (
    weakref.WeakKeyDictionary()
)


async def database_check():
    """database_problem() in a thread of its own (not thread_sensitive: a database that hangs holds that thread,
    never the request's). While one is still waiting, later probes wait for that one instead of starting
    another: a hung database holds one thread of the loop's pool, not one per probe."""
    loop = asyncio.get_running_loop()
    check = _database_checks.get(loop)
    if check is None or check.done():
        check = _database_checks[loop] = asyncio.ensure_future(
            sync_to_async(database_problem, thread_sensitive=False)()
        )
    # Shielded: a probe that times out leaves the check running for the next probe to wait on.
    return await asyncio.shield(check)


async def within(seconds, check):
    """What the coroutine `check` returns, or a reason if it has not returned within `seconds`."""
    try:
        return await asyncio.wait_for(check, seconds)
    except TimeoutError:
        return f"no answer within {seconds} s"


def database_problem(alias=DEFAULT_DB_ALIAS):
    """One line saying why the database `alias` did not answer a query, or None. Any backend: the query is
    Django's bare SELECT for it. The connection it opened is closed before it returns (it runs in a thread of
    its own, where nothing else would close it)."""
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1{connection.features.bare_select_suffix}")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 (refused, missing file, wrong password, a driver's own errors...)
        return one_line(error)
    finally:
        if not connection.in_atomic_block:
            connection.close()
    return None


async def channel_layer_round_trip_problem(alias=DEFAULT_CHANNEL_LAYER):
    """One line saying why a message sent to a fresh channel of layer `alias` did not come back, or None.

    It goes through the process's own layer, the path every socket takes (on Redis: its connection pool and the
    task that hands messages out), and works on the in-memory layer too. No timeout here: readiness_problems()
    gives it one."""
    # Any: None (no such alias) or a backend whose new_channel() takes a prefix; whatever fails is reported.
    layer: Any = get_channel_layer(alias)
    try:
        channel = await layer.new_channel("health")
        await layer.send(channel, {"type": "health.ping"})
        await layer.receive(channel)
    except Exception as error:  # noqa: BLE001 (Redis refused or reset, a full layer, a misconfigured layer...)
        return misconfiguration(error) or one_line(error)
    return None


def one_line(error):
    text = " ".join(str(error).split())
    return f"{text} ({type(error).__name__})" if text else type(error).__name__


class QuietProbes(logging.Filter):
    """Drops the log records of requests for PROBE_PATHS; passes every other record. apps.py installs it on
    `uvicorn.access` (the access log, which gunicorn's uvicorn workers write too) and on `django.request`
    (which logs every 5xx answer, so each 503 of /readyz while a dependency is down).

    A health check every few seconds would otherwise fill the logs with identical lines; what the probes find
    is logged by report(), once per change."""

    def filter(self, record):
        request = getattr(record, "request", None)  # django.request's records carry the request
        if request is not None:
            return getattr(request, "path", None) not in PROBE_PATHS
        # uvicorn's access record: (client, method, path with query string, HTTP version, status)
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) == 5 and isinstance(args[2], str) and args[2].partition("?")[0] in PROBE_PATHS)


def wait_for_channel_layer(alias=DEFAULT_CHANNEL_LAYER, log=logger.warning, sleep=time.sleep):
    """Return once every Redis host of the layer answers; until then retry, pausing up to WAIT_SECONDS_MAX. A host
    that refuses a setting (a wrong password, no such database, not a sentinel) raises ImproperlyConfigured at
    once: one line naming the variable, since waiting would not fix it."""
    from {{ cookiecutter.project_slug }}.checks import RedisRefused, redis_problems

    pause = 1
    errors = redis_problems(alias)
    refused = [error for error in errors if isinstance(error, RedisRefused)]
    if refused:
        raise ImproperlyConfigured(" ".join(f"{error.msg} {error.hint}" for error in refused))
    problem = "; ".join(f"({error.id}) {error.msg}" for error in errors)
    if problem:
        log(f"{problem} Waiting for it; retrying every {WAIT_SECONDS_MAX} s at most.")
        while problem:
            sleep(pause)
            pause = min(pause * 2, WAIT_SECONDS_MAX)
            problem = channel_layer_problem(alias)
        log("Ready again: the channel layer answers; starting.")


class DependencyGuard:
    """ASGI middleware: a consumer that fails because Redis is unreachable ends with one log line, not a traceback.
    A WebSocket is closed with TRY_AGAIN_LATER (accepted first, so the client can read the code), unless it was
    closed already: the line then says how it had ended, and that Redis failed afterwards."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        sent = {}  # the last message sent of each type

        async def tracking_send(message):
            sent[message["type"]] = message
            await send(message)

        try:
            return await self.application(scope, receive, tracking_send)
        except unreachable_errors() as error:
            why = report_redis_error(error) or "Redis is unreachable"
            path = scope.get("path")
            close = sent.get("websocket.close")
            if scope["type"] != "websocket":
                logger.warning("Worker for channel %s stopped: %s.", scope.get("channel"), why)
            elif close is not None and "websocket.accept" in sent:
                code = close.get("code", 1000)  # ASGI's default
                logger.warning("WebSocket %s was already closed with %s; then Redis failed: %s.", path, code, why)
            elif close is not None or "websocket.http.response.start" in sent:
                # A close before the accept is the server's HTTP 403; a denial response is the app's own.
                logger.warning("WebSocket %s was already refused at its handshake; then Redis failed: %s.", path, why)
            else:
                try:
                    if "websocket.accept" not in sent:
                        await send({"type": "websocket.accept"})
                    await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})
                except (OSError, RuntimeError):
                    logger.warning("WebSocket %s failed: %s; its client had left already.", path, why)
                else:
                    logger.warning("WebSocket %s closed with %s: %s.", path, TRY_AGAIN_LATER, why)
            return None
