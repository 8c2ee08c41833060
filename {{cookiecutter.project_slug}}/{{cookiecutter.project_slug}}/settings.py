"""Settings for {{ cookiecutter.project_name }}.

Every value that differs between machines comes from the environment. `.env` beside manage.py fills in what
the environment does not set (python-dotenv never overrides a real environment variable).
"""

import os
import socket
import sys
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = BASE_DIR / ".env"
load_dotenv(ENV_FILE)


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_bool(name, default):
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


# Redis connections read without a timeout. channels-redis's blocking wait (BZPOPMIN) returns every 5 s by
# itself, so a read timeout only does harm: redis-py 8's default (5 s) kills idle sockets, and any timeout
# makes redis-py wrap writes in asyncio.wait_for, which on Python 3.11 can swallow a cancellation, leaving a
# closed socket's receive loop running forever (the server then never finishes shutting down).
# TCP keepalive still notices a Redis that vanished without closing the connection.
REDIS_KEEPALIVE = {
    getattr(socket, name): seconds
    for name, seconds in [("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)]
    if hasattr(socket, name)
}


def channel_layers_for(redis_urls):
    """No URL: one process keeps groups in memory. One or more URLs: channels-redis (several = sharded)."""
    if not redis_urls:
        return {"default": {"BACKEND": "{{ cookiecutter.project_slug }}.memory_layer.InMemoryChannelLayer"}}
    import redis  # here, so a project on the in-memory layer never imports it

    hosts = [
        {
            "address": url,
            "socket_timeout": None,
            "socket_keepalive": True,
            "socket_keepalive_options": REDIS_KEEPALIVE,
            # A pooled connection that Redis has closed (restart, failover) is retried once on a fresh
            # connection, rather than failing the socket that happened to pick it.
            "retry_on_error": [redis.ConnectionError],
        }
        for url in redis_urls
    ]
    # channels-redis's RedisChannelLayer with a pool that waits for a free connection (redis_layer.py).
    backend = "{{ cookiecutter.project_slug }}.redis_layer.RedisChannelLayer"
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": hosts}}}


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    # sys.exit prints one line instead of a traceback, under manage.py, uvicorn and pytest alike.
    where = ".env" if ENV_FILE.exists() else "the environment, and there is no .env file beside manage.py"
    sys.exit(
        f"DJANGO_SECRET_KEY is not set in {where}. Copy .env.example to .env and set it to the output of: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )

DEBUG = env_bool("DJANGO_DEBUG", "false")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

# The project's own apps, one line each. Each is installed, its urls.py is mounted at /<app>/ and its
# routing.py is added to the WebSocket router. To remove an app, delete its folder and its line here.
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
    "django.contrib.staticfiles",
    # Before channels, so the project's runworker (refusing the in-memory layer) replaces channels' own.
    "{{ cookiecutter.project_slug }}",
    "channels",
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

ROOT_URLCONF = "{{ cookiecutter.project_slug }}.urls"
ASGI_APPLICATION = "{{ cookiecutter.project_slug }}.asgi.application"
CHANNEL_LAYERS = channel_layers_for(env_list("REDIS_URL"))

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
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # DJANGO_SQLITE_PATH: a database elsewhere (a Docker volume; the tests' live server on the test db).
        "NAME": os.environ.get("DJANGO_SQLITE_PATH") or BASE_DIR / "db.sqlite3",
        # Tests never touch the development database.
        "TEST": {"NAME": BASE_DIR / "test_db.sqlite3"},
    }
}

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

LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

STATIC_URL = "static/"
# collectstatic copies here; in production nginx serves this folder (deploy/nginx.conf), no Python involved.
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if not DEBUG:
    # Production: nginx terminates HTTPS and says so in X-Forwarded-Proto (deploy/nginx.conf always sets it).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", "true")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    # Start low: browsers remember HSTS for this many seconds. Raise it (e.g. 31536000) once HTTPS works.
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "60"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", "true")
    # Origins allowed to POST forms from another host, e.g. https://example.com (same-host needs none).
    CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
    # Without DEBUG, Django's default logging only mails errors: print them for journald / docker logs.
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    }
