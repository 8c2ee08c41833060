"""Settings for {{ cookiecutter.project_name }}.

Every value that differs between machines comes from the environment. `.env` beside manage.py fills in what
the environment does not set (python-dotenv never overrides a real environment variable).
"""

import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import django
import django_stubs_ext
from django.utils.crypto import salted_hmac
from dotenv import load_dotenv

# Parse each variable; a malformed value stops the process with one sentence naming it (environment.py).
from {{ cookiecutter.project_slug }}.environment import (
    ENV_FILE,
    env_addresses,
    env_bool,
    env_choice,
    env_database,
    env_hosts,
    env_int,
    env_list,
    env_redis_urls,
    env_sentinel_masters,
    env_str,
    redis_locations,
)

# Django's generic classes take a type at run time too, as the type checks (mypy .) want them written:
# class PollAdmin(admin.ModelAdmin[Poll]), models.Manager["Poll"].
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(ENV_FILE)


# Redis reads have no timeout: channels-redis's blocking wait returns every 5 s by itself, and a timeout makes
# redis-py wrap writes in asyncio.wait_for, which on Python 3.11 can swallow the cancellation of a closed socket's
# receive (the server then never stops). TCP keepalive still notices a Redis that vanished.
REDIS_KEEPALIVE = {
    getattr(socket, name): seconds
    for name, seconds in [("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)]
    if hasattr(socket, name)
}


# The sentinels answer one short question each ("where is the master?"): a sentinel that is down or hung is
# skipped after this long. Well under the 2 s a check or /readyz gets (checks.CONNECT_TIMEOUT_SECONDS,
# health.PROBE_TIMEOUT_SECONDS), so up to three hung sentinels are skipped and the master still answers in time.
SENTINEL_TIMEOUT_SECONDS = 0.5


def sentinel_master(location):
    """A copy of the Sentinel master `location` (environment.redis_locations) whose sentinels time out."""
    timeouts = {"socket_connect_timeout": SENTINEL_TIMEOUT_SECONDS, "socket_timeout": SENTINEL_TIMEOUT_SECONDS}
    return {**location, "sentinel_kwargs": {**location.get("sentinel_kwargs", {}), **timeouts}}


def redis_host(location):
    """One entry of the Redis layer's `hosts`: the connection options for `location`, a URL (redis://, rediss://
    or unix://) or a Sentinel master (a dict from environment.redis_locations)."""
    import redis  # here, so a project on the in-memory layer never imports it

    host = sentinel_master(location) if isinstance(location, dict) else {"address": location}
    host.update(
        socket_timeout=None,
        # A pooled connection that Redis has closed (restart, failover) is retried once on a fresh
        # connection, rather than failing the socket that happened to pick it.
        retry_on_error=[redis.ConnectionError],
    )
    # TCP only: redis-py refuses keepalive options on unix:// sockets. TLS options of rediss:// (ssl_ca_certs,
    # ssl_cert_reqs, ssl_certfile, ssl_keyfile) go in the URL's query string.
    if not str(host.get("address", "")).startswith("unix:"):
        host.update(socket_keepalive=True, socket_keepalive_options=REDIS_KEEPALIVE)
    return host


def channel_layers_for(redis_urls, prefix=None):
    """CHANNEL_LAYERS for a list of Redis locations (URLs, or Sentinel masters: environment.redis_locations). None:
    one process keeps groups in memory. One or more: channels-redis (several = sharded), every key it writes
    starting with `prefix` (default CHANNEL_LAYER_PREFIX).
    """
    if not redis_urls:
        return {"default": {"BACKEND": "{{ cookiecutter.project_slug }}.layers.memory.FanOutInMemoryChannelLayer"}}
    hosts = [redis_host(url) for url in redis_urls]
    # channels-redis's RedisChannelLayer, patched (layers/redis.py).
    backend = "{{ cookiecutter.project_slug }}.layers.redis.SingleReaderRedisChannelLayer"
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": hosts, "prefix": prefix or CHANNEL_LAYER_PREFIX}}}


def caches_for(redis_urls, prefix=None):
    """CACHES for a list of Redis locations: Django's Redis cache on the first (a URL, or a Sentinel master),
    shared by every process (login rate limits, socket-token logouts need that), or one process's memory without
    one. Keys start with `prefix` (default CHANNEL_LAYER_PREFIX), so projects sharing a Redis keep apart here too."""
    if not redis_urls:
        backend: dict[str, Any] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    else:
        # Short timeouts: a login page waits at most this long for a Redis that is gone, then goes on without it.
        options: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 2}
        location = redis_urls[0]
        if isinstance(location, dict):
            # LOCATION names the master; the pool asks the sentinels where it is (sentinel.py).
            options.update(pool_class="{{ cookiecutter.project_slug }}.sentinel.SentinelCachePool")
            options.update(sentinel_master(location))
            location = options.pop("master_name")
        backend = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "OPTIONS": options,
        }
    return {"default": {**backend, "KEY_PREFIX": prefix or CHANNEL_LAYER_PREFIX}}


class OneLineWarning(logging.Filter):
    """A log filter (LOGGING): each record becomes a warning without its traceback, for errors whose message says
    all there is to know. Passes every record."""

    def filter(self, record):
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = record.exc_text = None
        return True


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    # sys.exit prints one line instead of a traceback, under manage.py, uvicorn and pytest alike.
    where = ".env" if ENV_FILE.exists() else "the environment, and there is no .env file beside manage.py"
    sys.exit(
        f"DJANGO_SECRET_KEY is not set in {where}. Copy .env.example to .env and set it to the output of: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )

DEBUG = env_bool("DJANGO_DEBUG", "false")
ALLOWED_HOSTS = env_hosts("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# The project's own apps, one line each. Each is installed, its urls.py is mounted at /<app>/ and its
# routing.py is added to the WebSocket router. To remove an app, delete its folder and its line here.
PROJECT_APPS: list[str]  # (empty without the demo apps: this says what goes in)
PROJECT_APPS = [
    "echo",
    "chat",
    "notifications",
    "tasks",
    # one line per app, e.g. "orders",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles, channels and django_tasks_db, so the project's runserver (warning that it serves no
    # sockets), runworker (refusing the in-memory layer) and db_worker (retrying jobs) replace theirs.
    "{{ cookiecutter.project_slug }}",
    "django.contrib.staticfiles",
    "channels",
    # Durable jobs (background.py): their queue is a table of the database.
    *(["django_tasks"] if django.VERSION < (6, 0) else []),  # Django 5.2: the Tasks API's backport
    "django_tasks_db",
    *PROJECT_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Content-Security-Policy on Django 6 (django.middleware.csp; Django 5.2 has no such middleware and sends none):
# every page loads its scripts, styles, images and sockets from its own origin only ('self' covers ws: and wss: to
# the same host and port), with no inline code (tests/test_csp.py). Django 6's admin works under it; its debug
# pages send no policy.
if django.VERSION >= (6, 0):
    from django.utils.csp import CSP

    MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")
    SECURE_CSP = {
        "default-src": [CSP.SELF],
        "base-uri": [CSP.NONE],
        "form-action": [CSP.SELF],
        "frame-ancestors": [CSP.NONE],
        "object-src": [CSP.NONE],
    }

ROOT_URLCONF = "{{ cookiecutter.project_slug }}.urls"
ASGI_APPLICATION = "{{ cookiecutter.project_slug }}.asgi.application"
# Every Redis key the channel layer writes (groups, worker and socket channels) starts with this, so projects
# sharing one Redis, or one project's staging and production, never reach each other's sockets. Derived from
# the secret key (unique per bake and per deployment); set it to choose one, the same in every process. The
# algorithm is explicit: Django 6.1 deprecates salted_hmac's default, and the prefix must not change with it.
prefix_digest = salted_hmac("channel-layer-prefix", "", secret=SECRET_KEY, algorithm="sha1").hexdigest()[:16]
CHANNEL_LAYER_PREFIX = os.environ.get("CHANNEL_LAYER_PREFIX") or f"{{ cookiecutter.project_slug }}.{prefix_digest}"
# Redis: the URLs in REDIS_URL, or the masters a Sentinel set watches (REDIS_SENTINELS and REDIS_SENTINEL_MASTER:
# the servers ask the sentinels where the master is, and again after a failover; docs/channel-layers.md).
# Lowercase: not a setting of its own, so the debug page shows passwords only inside the settings it masks.
redis_servers = redis_locations(
    env_redis_urls("REDIS_URL"),
    env_addresses("REDIS_SENTINELS"),
    env_sentinel_masters("REDIS_SENTINEL_MASTER"),
    db=env_int("REDIS_SENTINEL_DB", 0),
    password=env_str("REDIS_SENTINEL_MASTER_PASSWORD"),
    sentinel_password=env_str("REDIS_SENTINEL_PASSWORD"),
)
CHANNEL_LAYERS = channel_layers_for(redis_servers)
# Server processes: uvicorn and gunicorn read it, checks.py warns about it; parsed here so a typo is one line.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 1, minimum=1)
CACHES = caches_for(redis_servers)
# Socket limits (docs/sockets.md): open sockets per logged-in user and per anonymous client address (0: no cap),
# and each JSON socket's message rate (a token bucket: a burst, then so many a second; 0: no limit).
SOCKETS_PER_USER = env_int("SOCKETS_PER_USER", 20)
SOCKETS_PER_ADDRESS = env_int("SOCKETS_PER_ADDRESS", 500)
SOCKET_MESSAGES_PER_SECOND = env_int("SOCKET_MESSAGES_PER_SECOND", 20)
SOCKET_MESSAGE_BURST = env_int("SOCKET_MESSAGE_BURST", 200, minimum=1)
# Presence (presence.py): each open socket's entry is refreshed this often; a killed process's entries go after 2.
PRESENCE_HEARTBEAT_SECONDS = env_int("PRESENCE_HEARTBEAT_SECONDS", 10, minimum=1)
# History (history.py): each stream (a chat room, a user's kept notifications) keeps its last HISTORY_KEEP entries;
# a page that comes back after more than that gets the rest and a frame saying what is no longer kept.
HISTORY_KEEP = env_int("HISTORY_KEEP", 1000, minimum=1)

# Durable jobs (background.py), stored in the database and run by `manage.py db_worker`: attempts per job, the
# pause after a failed attempt (doubled each time), how long a worker may go without reporting (its heartbeat,
# every fifth of that) before its running jobs are taken for lost and run again, and the jobs one worker process
# runs at once.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TASKS_JOB_ATTEMPTS = env_int("TASKS_JOB_ATTEMPTS", 3, minimum=1, maximum=100)
TASKS_JOB_RETRY_SECONDS = env_int("TASKS_JOB_RETRY_SECONDS", 2, maximum=3600)
TASKS_JOB_STALE_SECONDS = env_int("TASKS_JOB_STALE_SECONDS", 30, minimum=1)
TASKS_WORKER_CONCURRENCY = env_int("TASKS_WORKER_CONCURRENCY", 4, minimum=1, maximum=100)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # project_name, project_pages (the navigation), development (DEBUG)
                "{{ cookiecutter.project_slug }}.context_processors.project",
            ],
        },
    },
]


def sqlite_database():
    """The SQLite database used when DATABASE_URL is empty: its DATABASES entry."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        # DJANGO_SQLITE_PATH: a database elsewhere (a Docker volume; the tests' live server on the test db).
        "NAME": os.environ.get("DJANGO_SQLITE_PATH") or BASE_DIR / "db.sqlite3",
        # Writers take the lock when their transaction starts and wait for it (up to `timeout` seconds), rather
        # than failing with "database is locked" midway: db_worker's threads and the server write side by side.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        # Tests never touch the development database.
        "TEST": {"NAME": BASE_DIR / "test_db.sqlite3"},
    }


# DATABASE_URL, parsed by dj-database-url: empty for SQLite (above), or postgres://USER:PASSWORD@HOST:PORT/NAME
# (docs/settings.md). Connections are not kept between requests (CONN_MAX_AGE 0), as Django advises under ASGI.
DATABASES = {"default": env_database("DATABASE_URL") or sqlite_database()}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Every login (pages, admin, /api/ws-token/) goes through this backend: ModelBackend with the login rate limits
# of ratelimit.py, failed logins counted per client address and per username in each window.
AUTHENTICATION_BACKENDS = ["{{ cookiecutter.project_slug }}.ratelimit.RateLimitedModelBackend"]
LOGIN_FAILURES_PER_ADDRESS = 30
LOGIN_FAILURES_PER_USERNAME = 10
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60

LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

STATIC_URL = "static/"
# collectstatic copies here; in production nginx serves this folder (deploy/nginx.conf), no Python involved.
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Origins other than the site's own (scheme, host and port) allowed to POST forms and to open sockets, e.g.
# https://app.example.com or http://127.0.0.1:5173; the site's own origin needs none.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Debug pages and error reports mask the user and password of every URL they show (REDIS_URL...).
DEFAULT_EXCEPTION_REPORTER_FILTER = "{{ cookiecutter.project_slug }}.privacy.CredentialMaskingExceptionReporterFilter"

if not DEBUG:
    # Production: nginx terminates HTTPS and says so in X-Forwarded-Proto (deploy/nginx.conf always sets it).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", "true")
    # Health checks call the server over plain http (Docker's on 127.0.0.1:8000, a load balancer's through nginx):
    # a redirect would fail them, or pass them unanswered (Kubernetes counts any 3xx as success).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    # Start low: browsers remember HSTS for this many seconds. Raise it (e.g. 31536000) once HTTPS works.
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", "true")
    # Without DEBUG, Django's default logging only mails errors: print them for journald / docker logs.
    LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    LOG_LEVEL = env_choice("DJANGO_LOG_LEVEL", "INFO", LOG_LEVELS)
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        # The level on the handler too: Django's own loggers (django.request, django.security...) have a level of
        # their own (INFO) and pass their records up to this handler whatever the root's level.
        "handlers": {"console": {"class": "logging.StreamHandler", "level": LOG_LEVEL}},
        "root": {"handlers": ["console"], "level": LOG_LEVEL},
        "filters": {"one_line_warning": {"()": OneLineWarning}},
        "loggers": {
            # A Host not in ALLOWED_HOSTS (any scanner that reaches nginx's default server): Django's message names
            # the host; its traceback would add 30 lines per request that say nothing more.
            "django.security.DisallowedHost": {"filters": ["one_line_warning"]},
        },
    }
