"""Reading the environment. Each value the project reads is parsed here, and a malformed one stops the process
with one sentence naming the variable: sys.exit prints it without a traceback, under manage.py, uvicorn,
gunicorn and pytest alike.

No Django import and no side effect: deploy/gunicorn.conf.py uses it before Django is set up.
"""

import os
import sys
from urllib.parse import parse_qs, urlsplit

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
REDIS_SCHEMES = ("redis", "rediss", "unix")
# The DATABASE_URL schemes of the drivers the project installs (psycopg; sqlite3 comes with Python). Another
# database needs its driver in pyproject.toml and its dj-database-url scheme here ("mysql", ...).
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "sqlite")
DATABASE_EXAMPLE = "postgres://USER:PASSWORD@127.0.0.1:5432/NAME"
CONNECT_TIMEOUT_SECONDS = 5  # PostgreSQL connections (libpq's connect_timeout)


def misconfigured(name, value, expected):
    """Stop the process: `name` holds `value`, which is not `expected` (a phrase: "a whole number")."""
    sys.exit(f"{name}={value!r} is not valid: it must be {expected}. Correct it in .env or the environment.")


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_bool(name, default):
    value = os.environ.get(name, "").strip().lower() or default
    if value not in TRUE + FALSE:
        misconfigured(name, os.environ.get(name), f"one of {', '.join(TRUE + FALSE)}")
    return value in TRUE


def env_int(name, default, minimum=0, maximum=10**9):
    """The whole number in environment variable `name` (`default` when unset or empty); outside minimum..maximum
    (a billion by default: 31 years of seconds, past any count or delay here, and within what sleeps and
    timedeltas take) the process stops with one sentence naming it."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or not minimum <= int(value) <= maximum:
        misconfigured(name, value, f"a whole number from {minimum} to {maximum}")
    return int(value)


def env_choice(name, default, choices):
    value = os.environ.get(name, "").strip().upper() or default
    if value not in choices:
        misconfigured(name, os.environ.get(name), f"one of {', '.join(choices)}")
    return value


def without_password(url):
    """`url` with its password (if any) replaced by ***, for messages. By position, not by parsing: the password
    is what follows the user's ":" up to the last "@", so one that is not %-quoted (holding / # ? or @) is hidden
    too, in a URL that urllib cannot split."""
    scheme, separator, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


def redis_url_problem(url):
    """What is wrong with one Redis URL (a phrase), or None. Checks what redis-py would ignore or reject later."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return "a URL whose port is a number from 1 to 65535, e.g. redis://127.0.0.1:6379/0"
    if parts.scheme not in REDIS_SCHEMES:
        return "a URL starting with redis://, rediss:// or unix://"
    query = parse_qs(parts.query)
    dbs = query.get("db", [])
    if parts.scheme == "unix":
        if not parts.path or parts.path == "/":
            return "unix:// followed by the socket's absolute path, e.g. unix:///run/redis/redis.sock?db=0"
    else:
        if not parts.hostname:
            return "a URL with a host, e.g. redis://127.0.0.1:6379/0"
        if parts.path.strip("/"):
            dbs = [parts.path.strip("/"), *dbs]
    if any(not db.isascii() or not db.isdigit() for db in dbs):
        return "a URL whose database is a number, e.g. redis://127.0.0.1:6379/0"
    from redis.connection import parse_url  # here, so a project on the in-memory layer never imports redis

    try:
        parse_url(url)
    except ValueError as error:
        return f"a URL redis-py accepts ({error})"
    return None


def env_redis_urls(name="REDIS_URL"):
    """The comma-separated Redis URLs in `name` (none: the in-memory layer)."""
    urls = env_list(name)
    for url in urls:
        problem = redis_url_problem(url)
        if problem:
            misconfigured(name, without_password(url), problem)
    return urls


def database_url_problem(url):
    """What is wrong with a DATABASE_URL (a phrase), or None. Checks what dj-database-url or the driver would
    only refuse later, with a traceback: an unknown scheme, a malformed port, no database name."""
    import dj_database_url  # here, so gunicorn.conf.py's import of this module stays light

    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        return f"empty (SQLite) or a URL starting with postgres://, postgresql:// or sqlite://, e.g. {DATABASE_EXAMPLE}"
    try:
        config = dj_database_url.parse(url)
    except ValueError:
        return f"a URL whose port is a number from 1 to 65535 and whose parts are %-quoted, e.g. {DATABASE_EXAMPLE}"
    if scheme != "sqlite" and not config.get("NAME") and "service" not in config.get("OPTIONS", {}):
        return f"a URL that names the database after the last /, e.g. {DATABASE_EXAMPLE}"
    return None


def env_database(name="DATABASE_URL"):
    """DATABASES["default"] for the URL in `name`, parsed by dj-database-url; None when it is empty or unset
    (the settings then use SQLite)."""
    import dj_database_url

    url = os.environ.get(name, "").strip()
    if not url:
        return None
    problem = database_url_problem(url)
    if problem:
        misconfigured(name, without_password(url), problem)
    database = dj_database_url.parse(url)
    if database["ENGINE"] == "django.db.backends.postgresql":
        # A server that accepts the connection and never answers (hung, or stopped with SIGSTOP) fails the
        # connection after this long instead of holding its thread for ever; ?connect_timeout= in the URL wins.
        database.setdefault("OPTIONS", {}).setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return database
