"""System checks for the channel layer and the project's secrets: a misconfiguration becomes one clear line, not a
traceback on the first message or a silent leak. apps.py registers them; none looks at the command line.

- layers.E001: the installed channels or channels-redis minor is not the one layers/ patches. Every command.
- channel_layers.W001: the in-memory layer with several server processes. Every command.
- channel_layers.E002: a layer class the project cannot use (neither in memory nor channels-redis's
  RedisChannelLayer or a subclass, e.g. RedisPubSubChannelLayer), or one that cannot be imported. Every command,
  and the server's start.
- channel_layers.E001: Redis unreachable. Connecting is I/O, so like Django's database checks it runs only when
  asked: `manage.py check --deploy`. Processes that need the layer probe themselves: the server at start
  (lifespan.py) and runworker (management/commands/runworker.py).
- sockets.W001 (`check --deploy`): ALLOWED_HOSTS contains "*", so Django accepts any Host header, and the socket
  Origin check (middleware.py) accepts any page that names its own host (DNS rebinding).
- secrets.W001, secrets.W002 (`check --deploy`): `.env` or the SQLite database can be read by other users than
  its owner (privacy.py).
"""

import asyncio
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from django.conf import settings
from django.core.checks import Error, Warning
from django.utils.module_loading import import_string

from {{ cookiecutter.project_slug }}.environment import host_port
from {{ cookiecutter.project_slug }}.health import misconfiguration, one_line
from {{ cookiecutter.project_slug }}.layers import PATCHED_MINORS, is_in_memory
from {{ cookiecutter.project_slug }}.privacy import shared_mode, sqlite_file

TAG = "channel_layers"
LIBRARIES_TAG = "layers"
# Short, so that a firewalled host fails the check in seconds rather than hanging the server's start.
CONNECT_TIMEOUT_SECONDS = 2


def check_patched_libraries(app_configs=None, **kwargs):
    return library_problems()


def check_memory_layer_has_one_process(app_configs=None, **kwargs):
    return memory_layer_problems()


def check_layer_class(app_configs=None, **kwargs):
    return layer_class_problems()


def check_redis_reachable(app_configs=None, **kwargs):
    return redis_problems()


def check_allowed_hosts(app_configs=None, **kwargs):
    if "*" not in settings.ALLOWED_HOSTS:
        return []
    return [
        Warning(
            'DJANGO_ALLOWED_HOSTS contains "*": Django accepts requests for any host name, and the socket Origin '
            "check then accepts any page served under the host name it connects to, such as a page of another "
            "site whose name resolves to this server (DNS rebinding).",
            hint="List the host names this site is served under, e.g. DJANGO_ALLOWED_HOSTS=example.com.",
            id="sockets.W001",
        )
    ]


def check_private_files(app_configs=None, **kwargs):
    """secrets.W001 and W002: `.env` and the SQLite database, when others than their owner may read them."""
    files = [(Path(settings.ENV_FILE), "secrets.W001", "DJANGO_SECRET_KEY, which signs sessions and socket tokens")]
    database = sqlite_file(settings.DATABASES["default"])
    if database is not None:
        files.append((database, "secrets.W002", "password hashes and the session keys of logged-in users"))
    warnings = []
    for path, check_id, holds in files:
        mode = shared_mode(path)
        if mode:
            warnings.append(
                Warning(
                    f"{path} holds {holds}, and users other than its owner have access to it (mode "
                    f"{oct(path.stat().st_mode & 0o777)}).",
                    hint=f"chmod 600 {path}, owned by the user the server runs as.",
                    id=check_id,
                )
            )
    return warnings


def startup_problems():
    """What a server checks before it accepts connections (uvicorn and gunicorn run no Django checks). Redis is
    not among them: a server starts without it and serves what it can (health.py)."""
    return [*library_problems(), *layer_class_problems(), *memory_layer_problems()]


def installed_minor(distribution):
    """The installed minor release of `distribution` ("4.3" for 4.3.2), or None when it is not installed."""
    try:
        return ".".join(version(distribution).split(".")[:2])
    except PackageNotFoundError:
        return None


def library_problems():
    errors = []
    for distribution, patched in PATCHED_MINORS.items():
        installed = installed_minor(distribution)
        if installed not in (None, patched):
            errors.append(
                Error(
                    f"{distribution} {installed} is installed, but {{ cookiecutter.project_slug }}/layers/ patches the "
                    f"internals of {distribution} {patched}.",
                    hint=f"Install {distribution} {patched}.x (pyproject.toml pins it), or check each patch in "
                    "layers/ against the new release, then update PATCHED_MINORS and the pin.",
                    id="layers.E001",
                )
            )
    return errors


def layer_class_problems(alias=DEFAULT_CHANNEL_LAYER):
    """channel_layers.E002 when layer `alias`'s BACKEND cannot be imported, or is neither in memory nor
    channels-redis's RedisChannelLayer (or a subclass): the presence registry (presence.py, the socket caps) and
    the Redis check call that class's connection() and consistent_hash(), which no other layer has
    (RedisPubSubChannelLayer included). An unusable class would fail the server's start with an AttributeError."""
    backend = settings.CHANNEL_LAYERS.get(alias, {}).get("BACKEND")
    if backend is None:
        return []
    try:
        layer_class = import_string(backend)
    except ImportError as error:
        return [Error(f"The channel layer {backend} cannot be imported: {error}", id="channel_layers.E002")]
    if is_in_memory(alias):
        return []
    from channels_redis.core import RedisChannelLayer  # here: a project on the in-memory layer never imports redis

    if isinstance(layer_class, type) and issubclass(layer_class, RedisChannelLayer):
        return []
    return [
        Error(
            f"The channel layer {backend} is neither in memory nor channels-redis's RedisChannelLayer or a subclass: "
            "the presence registry, the socket caps and the Redis check use that class's connection() and "
            "consistent_hash().",
            hint="Use {{ cookiecutter.project_slug }}.layers.redis.SingleReaderRedisChannelLayer, as settings.py "
            "does, or a subclass of channels_redis.core.RedisChannelLayer.",
            id="channel_layers.E002",
        )
    ]


class RedisRefused(Error):
    """A channel_layers.E001 caused by a setting (health.misconfiguration(): a wrong password, no such database, an
    address that is no sentinel), not by a Redis that is away: waiting for Redis will not fix it."""


def redis_location(url):
    """host:port (or the socket path) of a Redis URL, without the password it may hold; for a Sentinel host
    (a dict), the master's name and its sentinels."""
    if isinstance(url, dict):
        sentinels = ", ".join(host_port(host, port) for host, port in url.get("sentinels", []))
        return f"the master {url.get('master_name')!r} of the sentinels {sentinels}"
    if not isinstance(url, str):
        return "an unknown host"
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def redis_problems(alias=DEFAULT_CHANNEL_LAYER):
    """channel_layers.E001 for each Redis host of layer `alias` that the layer cannot use.

    It connects exactly as the layer does: a fresh instance of the configured layer class opens each host's
    connection through its own `connection()` (channels-redis's create_pool, with every option of the host),
    so "the check passes" means "the layer can talk to Redis".
    """
    # Only Redis layers have hosts: the in-memory one has nothing to reach.
    config = settings.CHANNEL_LAYERS.get(alias, {})
    if not config.get("CONFIG", {}).get("hosts") or layer_class_problems(alias):
        return []  # no hosts: the in-memory layer, nothing to reach; a class it cannot use: E002 says so
    errors: list[Error] = []
    for url, error in async_to_sync(unusable_hosts)(config):
        fix = None if isinstance(error, str) else misconfiguration(error, sentinel=isinstance(url, dict))
        if fix:
            errors.append(
                RedisRefused(
                    f"The channel layer cannot use Redis at {redis_location(url)}: {one_line(error)}",
                    hint=f"{fix[0].upper()}{fix[1:]}.",
                    id="channel_layers.E001",
                )
            )
            continue
        errors.append(
            Error(
                f"The channel layer cannot reach Redis at {redis_location(url)}: "
                f"{error if isinstance(error, str) else one_line(error)}",
                hint=(
                    "Start Redis there, correct REDIS_URL, or empty REDIS_URL for the in-memory layer (one process "
                    "only)."
                    if isinstance(url, str)
                    else "Start the sentinels and the master, or correct REDIS_SENTINELS and REDIS_SENTINEL_MASTER."
                ),
                id="channel_layers.E001",
            )
        )
    return errors


async def unusable_hosts(config):
    """[(address, error)] for each host the layer configured by `config` cannot PING (a Sentinel host: the
    sentinels are asked where the master is, then the master is pinged; its address is the host's dict); `error`
    is the exception, or a phrase for a timeout."""
    layer = import_string(config["BACKEND"])(**config.get("CONFIG", {}))
    failures: list[tuple[Any, Exception | str]] = []
    try:
        for index, host in enumerate(layer.hosts):
            address = host.get("address", host) if isinstance(host, dict) else None
            try:
                await asyncio.wait_for(layer.connection(index).ping(), CONNECT_TIMEOUT_SECONDS)
            except TimeoutError:
                failures.append((address, f"no answer within {CONNECT_TIMEOUT_SECONDS} s"))
            except Exception as error:  # noqa: BLE001 (refused, TLS, auth, an option the connection rejects...)
                failures.append((address, error))
    finally:
        await layer.close_pools()
    return failures


def memory_layer_problems():
    if layer_class_problems() or not is_in_memory():
        return []  # a class that cannot be imported: E002 says so
    # uvicorn and gunicorn take their worker count from WEB_CONCURRENCY; deploy/gunicorn.conf.py sets it.
    workers = os.environ.get("WEB_CONCURRENCY", "1").strip()
    if workers.isdigit() and int(workers) > 1:
        return [
            Warning(
                f"{workers} server processes (WEB_CONCURRENCY) share no groups: the in-memory channel layer lives "
                "inside one process, so group messages never cross processes. A chat message reaches only the "
                "sockets of the process that received it.",
                hint="Set REDIS_URL to use channels-redis, or run one server process.",
                id="channel_layers.W001",
            )
        ]
    return []
