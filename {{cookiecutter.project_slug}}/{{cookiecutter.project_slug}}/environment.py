"""Reading the environment. Each value the project reads is parsed here, and a malformed one stops the process
with one sentence naming the variable: sys.exit prints it without a traceback, under manage.py, uvicorn,
gunicorn and pytest alike.

No Django import and no side effect: deploy/gunicorn.conf.py uses it before Django is set up.
"""

import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# The project's .env, beside manage.py: settings.py and deploy/gunicorn.conf.py load it (python-dotenv).
ENV_FILE = Path(__file__).resolve().parent.parent / ".env"

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
REDIS_SCHEMES = ("redis", "rediss", "unix")
SENTINELS_EXAMPLE = "10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379"
# What Sentinel accepts in a master's name (`sentinel monitor NAME ...`).
SENTINEL_MASTER_NAME = re.compile(r"[A-Za-z0-9._-]+")
# The DATABASE_URL schemes of the drivers the project installs (psycopg; sqlite3 comes with Python). Another
# database needs its driver in pyproject.toml and its dj-database-url scheme here ("mysql", ...).
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "sqlite")
DATABASE_EXAMPLE = "postgres://USER:PASSWORD@127.0.0.1:5432/NAME"
# An ALLOWED_HOSTS entry that can match a Host header: "*", or a name or address as django.http.request's
# host_validation_re takes it without its port (a leading "." also matches subdomains).
ALLOWED_HOST = re.compile(r"\*|\.?[a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\]", re.IGNORECASE)
CONNECT_TIMEOUT_SECONDS = 5  # PostgreSQL connections (libpq's connect_timeout)


def misconfigured(name, value, expected):
    """Stop the process: `name` holds `value`, which is not `expected` (a phrase: "a whole number")."""
    sys.exit(f"{name}={value!r} is not valid: it must be {expected}. Correct it in .env or the environment.")


def env_str(name, default=""):
    """The text in environment variable `name`, stripped (`default` when unset or empty)."""
    return os.environ.get(name, "").strip() or default


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_hosts(name, default):
    """The host names in environment variable `name` (comma-separated; `default` when unset, none when empty), as
    ALLOWED_HOSTS takes them. One no Host header can match stops the process: with a scheme or a port
    (https://example.com, example.com:443; Django compares the Host header's name alone), or with a character a
    Host header's name never has (bücher.example, whose header carries xn--bcher-kva.example; my_host). A name's
    trailing dot (example.com.) is dropped: Django drops it from the Host header before comparing."""
    hosts = [host[:-1] if len(host) > 1 and host.endswith(".") else host for host in env_list(name, default)]
    if not all(ALLOWED_HOST.fullmatch(host) for host in hosts):
        misconfigured(
            name,
            os.environ.get(name),
            "comma-separated host names without a scheme or a port, of letters, digits, '-' and '.' (example.com, "
            ".example.com for its subdomains too, an international name in its xn-- form, 192.0.2.7, "
            "[2001:db8::7], or *)",
        )
    return hosts


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
    # Here, so a project on the in-memory layer never imports redis.
    from redis.connection import parse_url

    try:
        parse_url(url)
    except ValueError as error:
        return f"a URL redis-py accepts ({error})"
    return None


def env_redis_urls(name="REDIS_URL"):
    """The comma-separated Redis URLs in `name` (none: the in-memory layer)."""
    urls = env_list(name)
    if os.environ.get(name, "").strip() and not urls:  # commas only: not the in-memory layer by mistake
        misconfigured(name, os.environ.get(name), "empty (the in-memory layer) or comma-separated Redis URLs")
    for url in urls:
        problem = redis_url_problem(url)
        if problem:
            misconfigured(name, without_password(url), problem)
    return urls


def env_addresses(name, example=SENTINELS_EXAMPLE):
    """The comma-separated host:port pairs in `name` ([::1]:26379 for an IPv6 address), as [(host, port)]; empty
    when unset. A pair without a port, or with one that is not 1..65535, stops the process naming `name` (with
    any user:password@ in the value hidden)."""
    value = os.environ.get(name, "")
    expected = (
        f"comma-separated host:port pairs, each port from 1 to 65535 and an IPv6 address in brackets ([::1]:26379), "
        f"e.g. {example}"
    )
    addresses = []
    for item in env_list(name):
        try:
            parts = urlsplit(f"//{item}")
            host, port = parts.hostname, parts.port
            extra = parts.username is not None or parts.path or parts.query or parts.fragment or " " in item
        except ValueError:  # a port that is not a number or past 65535, unbalanced or misplaced brackets
            host, port, extra = None, None, True
        if extra or not host or not port:
            misconfigured(name, without_userinfo(value), expected)
        addresses.append((host, port))
    if value.strip() and not addresses:
        misconfigured(name, value, expected)
    return addresses


def without_userinfo(value):
    """`value` (comma-separated items) with whatever precedes each item's last "@" replaced by ***, for messages."""
    return ",".join(f"***@{item.rpartition('@')[2]}" if "@" in item else item for item in value.split(","))


def host_port(host, port):
    """host:port, with an IPv6 address in brackets ([::1]:26379), as env_addresses() reads it."""
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def env_sentinel_masters(name="REDIS_SENTINEL_MASTER"):
    """The comma-separated master names in `name` (as Sentinel allows them: letters, digits, . _ -)."""
    names = env_list(name)
    if not all(SENTINEL_MASTER_NAME.fullmatch(master) for master in names):
        misconfigured(
            name,
            os.environ.get(name),
            "the name of the master the sentinels monitor (their `sentinel monitor NAME` line), or several "
            "comma-separated: letters, digits, . _ and -, e.g. mymaster",
        )
    return names


# The variables that only mean something beside REDIS_SENTINELS (settings.py reads them into redis_locations).
SENTINEL_OPTIONS = (
    "REDIS_SENTINEL_MASTER",
    "REDIS_SENTINEL_DB",
    "REDIS_SENTINEL_MASTER_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
)


def redis_locations(urls, sentinels, masters, db=0, password="", sentinel_password=""):
    """Where the project's Redis is: `urls` (REDIS_URL), or with `sentinels` (REDIS_SENTINELS) one
    channels-redis Sentinel host per name in `masters` (REDIS_SENTINEL_MASTER): a dict with master_name,
    sentinels, db, password (the master's and replicas' `requirepass`) and sentinel_kwargs (the sentinels' own
    password, if any). Several locations are shards. Both forms at once, or half of the Sentinel one, stop the
    process naming the variable to correct."""
    if not sentinels:
        # A Sentinel option set without the sentinels would be ignored: the project would use REDIS_URL or memory.
        options = [name for name in SENTINEL_OPTIONS if os.environ.get(name, "").strip()]
        if options:
            misconfigured(
                "REDIS_SENTINELS",
                os.environ.get("REDIS_SENTINELS", ""),
                f"the sentinels' host:port pairs when {' and '.join(options)} is set, e.g. {SENTINELS_EXAMPLE}",
            )
        return urls
    if urls:
        misconfigured(
            "REDIS_URL",
            without_password(",".join(urls)),
            "empty when REDIS_SENTINELS is set (the sentinels say where the master is)",
        )
    if not masters:
        misconfigured(
            "REDIS_SENTINEL_MASTER",
            os.environ.get("REDIS_SENTINEL_MASTER", ""),
            "the name of the master the sentinels monitor (their `sentinel monitor NAME` line) when "
            "REDIS_SENTINELS is set, e.g. mymaster",
        )
    return [
        {
            "master_name": master,
            "sentinels": sentinels,
            "db": db,
            "password": password or None,
            "sentinel_kwargs": {"password": sentinel_password} if sentinel_password else {},
        }
        for master in masters
    ]


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
