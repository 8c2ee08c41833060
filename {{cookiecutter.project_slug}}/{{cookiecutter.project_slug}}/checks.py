"""System checks for the channel layer: they turn a misconfiguration into one clear line at `manage.py check`
and at server start (see lifespan.py), instead of a traceback on the first message.
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.checks import Error, Warning, register

TAG = "channel_layers"
MEMORY_BACKENDS = {"channels.layers.InMemoryChannelLayer", "{{ cookiecutter.project_slug }}.memory_layer.InMemoryChannelLayer"}
# Short, so that a firewalled host fails the check in seconds rather than hanging the server's start.
CONNECT_TIMEOUT_SECONDS = 2
# Commands that probe Redis: `check` itself and those that use the layer. migrate, makemigrations,
# createsuperuser... keep working while Redis is down; servers probe at startup (lifespan.py).
PROBING_COMMANDS = {"check", "runworker", "runserver"}
PER_PROCESS = "the in-memory channel layer lives inside one process, so group messages never cross processes"


def redis_location(url):
    """host:port (or the socket path) of a Redis URL, without the password it may hold."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def command():
    """The manage.py command being run; empty under a server or pytest."""
    return sys.argv[1] if len(sys.argv) > 1 and Path(sys.argv[0]).name == "manage.py" else ""


def startup_problems():
    """What a server checks before it accepts connections."""
    return [*redis_problems(), *memory_layer_problems()]


@register(TAG)
def check_redis_reachable(app_configs=None, **kwargs):
    return redis_problems() if command() in PROBING_COMMANDS else []


@register(TAG)
def check_memory_layer_has_one_process(app_configs=None, **kwargs):
    return memory_layer_problems()


def redis_problems():
    # Only Redis layers have hosts: the in-memory one has nothing to reach.
    hosts = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {}).get("hosts", [])
    errors = []
    for host in hosts:
        url = host.get("address") if isinstance(host, dict) else host
        if not isinstance(url, str):
            continue  # sentinel and (host, port) entries are taken as they are
        client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=CONNECT_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        except (redis.RedisError, OSError) as error:
            errors.append(
                Error(
                    f"The channel layer cannot reach Redis at {redis_location(url)}: {error}",
                    hint="Start Redis there, correct REDIS_URL, or empty REDIS_URL for the in-memory layer "
                    "(one process only).",
                    id="channel_layers.E001",
                )
            )
        finally:
            client.close()
    return errors


def memory_layer_problems():
    if settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND") not in MEMORY_BACKENDS:
        return []
    warnings = []
    # uvicorn and gunicorn take their worker count from WEB_CONCURRENCY; deploy/gunicorn.conf.py sets it.
    workers = os.environ.get("WEB_CONCURRENCY", "1").strip()
    if workers.isdigit() and int(workers) > 1:
        warnings.append(
            Warning(
                f"{workers} server processes (WEB_CONCURRENCY) share no groups: {PER_PROCESS}. A chat message "
                "reaches only the sockets of the process that received it.",
                hint="Set REDIS_URL to use channels-redis, or run one server process.",
                id="channel_layers.W001",
            )
        )
    if command() == "runworker":
        warnings.append(
            Warning(
                f"runworker with the in-memory layer receives nothing: {PER_PROCESS}, and the server that sends "
                "the work is another process.",
                hint="Set REDIS_URL to use channels-redis.",
                id="channel_layers.W002",
            )
        )
    return warnings
