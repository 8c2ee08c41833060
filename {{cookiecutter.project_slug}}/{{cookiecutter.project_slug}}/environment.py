"""Reading the environment. Each value the project reads is parsed here, and a malformed one stops the process
with one sentence naming the variable: sys.exit prints it without a traceback, under manage.py, uvicorn,
gunicorn and pytest alike.

No Django import and no side effect: deploy/gunicorn.conf.py uses it before Django is set up.
"""

import os
import sys
from urllib.parse import parse_qs, urlsplit, urlunsplit

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
REDIS_SCHEMES = ("redis", "rediss", "unix")


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


def env_int(name, default, minimum=0):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or int(value) < minimum:
        misconfigured(name, value, f"a whole number of at least {minimum}")
    return int(value)


def env_choice(name, default, choices):
    value = os.environ.get(name, "").strip().upper() or default
    if value not in choices:
        misconfigured(name, os.environ.get(name), f"one of {', '.join(choices)}")
    return value


def without_password(url):
    """`url` with its password (if any) replaced by ***, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


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
