"""A malformed environment variable is one sentence naming it, never a traceback, whatever runs the settings;
and each Redis URL form (and a Sentinel master) gets the connection options it supports."""

import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.checks import redis_location, redis_problems
from {{ cookiecutter.project_slug }}.environment import redis_locations
from {{ cookiecutter.project_slug }}.settings import SENTINEL_TIMEOUT_SECONDS, caches_for, channel_layers_for, redis_host

PROJECT_DIR = Path(__file__).resolve().parents[2]
SETTINGS = Path(__file__).resolve().parents[1] / "settings.py"

MALFORMED = [
    ("REDIS_URL", "notaurl"),
    ("REDIS_URL", "redis://127.0.0.1:63x9/0"),
    ("REDIS_URL", "redis://127.0.0.1:6379/zero"),
    ("REDIS_URL", "redis://:hunter2@127.0.0.1:99999/0"),
    ("REDIS_URL", "redis://127.0.0.1:6379/0,http://cache"),
    ("REDIS_URL", "unix://"),
    ("REDIS_URL", "rediss://cache.example.org/0?socket_connect_timeout=soon"),
    # A password that is not %-quoted: urllib cannot split the URL, and the message must still hide it.
    ("REDIS_URL", "redis://:hunter2/x@127.0.0.1:6379/zero"),
    ("DATABASE_URL", "postgres://app:hunter2/x@127.0.0.1:5432/app"),
    ("DATABASE_URL", "postgres://app:hunter2#x@127.0.0.1:5432/app"),
    ("DATABASE_URL", "mysql://app:hunter2?x@127.0.0.1/app"),
    ("REDIS_SENTINELS", "10.0.0.5"),
    ("REDIS_SENTINELS", "10.0.0.5:26379,10.0.0.6:99999"),
    ("REDIS_SENTINELS", "10.0.0.5:26379;10.0.0.6:26379"),
    ("REDIS_SENTINELS", "redis://10.0.0.5:26379"),
    ("REDIS_SENTINELS", "user:hunter2@127.0.0.1:26379"),
    ("REDIS_SENTINELS", "redis://:hunter2@127.0.0.1:26379"),
    ("REDIS_SENTINELS", "[::1:26379"),
    ("REDIS_SENTINELS", "[not-ipv6]:26379"),
    ("REDIS_SENTINELS", ","),
    ("REDIS_URL", " , "),
    ("REDIS_SENTINELS", "sentinel one:26379"),
    ("REDIS_SENTINELS", "::1:27379"),  # IPv6 without brackets
    ("REDIS_SENTINEL_MASTER", "my master"),
    ("REDIS_SENTINEL_DB", "one"),
    ("DJANGO_SECURE_HSTS_SECONDS", "abc"),
    ("DJANGO_SECURE_HSTS_SECONDS", "-5"),
    ("WEB_CONCURRENCY", "two"),
    ("WEB_CONCURRENCY", "0"),
    ("SOCKETS_PER_USER", "99999999999999999999"),  # past what a sleep or a timedelta takes
    ("DJANGO_DEBUG", "ture"),
    ("DJANGO_SECURE_SSL_REDIRECT", "maybe"),
    ("DJANGO_LOG_LEVEL", "LOUD"),
    # Django compares the Host header's name alone: each of these would refuse every request.
    ("DJANGO_ALLOWED_HOSTS", "https://example.com"),
    ("DJANGO_ALLOWED_HOSTS", "example.com:443"),
    ("DJANGO_ALLOWED_HOSTS", "example.com,127.0.0.1:8000"),
    ("DJANGO_ALLOWED_HOSTS", "example.com/"),
]
EXAMPLES = [("REDIS_URL", "notaurl"), ("DJANGO_SECURE_HSTS_SECONDS", "abc"), ("WEB_CONCURRENCY", "two")]


def run(args, name, value, timeout=60):
    env = {key: item for key, item in os.environ.items() if not key.startswith("PYTEST_")}
    env.update({"DJANGO_DEBUG": "false", name: value})
    result = subprocess.run(args, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def assert_one_sentence(returncode, output, name):
    assert returncode != 0, output
    assert "Traceback" not in output, output
    [line] = [line for line in output.splitlines() if line.startswith(f"{name}=")]
    assert " is not valid: it must be " in line and "hunter2" not in output, output


# Each malformed value, in this process: the settings stop with the sentence (sys.exit's message). The tests
# after it prove, with one value each, that every way of starting the project prints that sentence alone.
@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_the_settings_stop_naming_the_malformed_variable(monkeypatch, name, value):
    monkeypatch.setenv("DJANGO_DEBUG", "false")
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(SETTINGS))
    assert_one_sentence(1, str(stopped.value.code), name)


@pytest.mark.parametrize(
    ("value", "hosts"),
    [
        ("", []),  # none: with DEBUG, Django's own localhost names; without, every request is refused
        ("example.com, .Example.org", ["example.com", ".Example.org"]),
        ("192.0.2.7,[::1],[2001:db8::7],*", ["192.0.2.7", "[::1]", "[2001:db8::7]", "*"]),
        # A fully qualified name's trailing dot: Django drops it from the Host header, never from ALLOWED_HOSTS.
        ("example.com., .example.org.", ["example.com", ".example.org"]),
    ],
)
def test_allowed_hosts_takes_names_addresses_and_nothing(monkeypatch, value, hosts):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", value)
    assert runpy.run_path(str(SETTINGS))["ALLOWED_HOSTS"] == hosts


@pytest.mark.parametrize("value", ["bücher.example", "my_host"])
def test_a_host_name_django_never_matches_is_told_how_to_write_it(monkeypatch, value):
    # Neither has a scheme or a port: the sentence says which characters a name takes, and an international one's
    # xn-- form (the one its Host header carries).
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", value)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(SETTINGS))
    assert "letters, digits" in str(stopped.value.code) and "xn--" in str(stopped.value.code), stopped.value.code


@pytest.mark.parametrize("value", ["::1:27379", "10.0.0.5:99999"])
def test_a_malformed_sentinel_address_says_how_to_write_ports_and_ipv6(monkeypatch, value):
    monkeypatch.setenv("REDIS_SENTINELS", value)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(SETTINGS))
    assert "from 1 to 65535" in stopped.value.code and "IPv6 address in brackets ([::1]:26379)" in stopped.value.code


def test_a_check_names_an_ipv6_sentinel_in_brackets():
    [location] = redis_locations([], [("::1", 27379), ("10.0.0.5", 26379)], ["mymaster"])
    assert redis_location(location) == "the master 'mymaster' of the sentinels [::1]:27379, 10.0.0.5:26379"


# A Sentinel set is several variables: half of one, or REDIS_URL beside it, names the variable to set or empty.
@pytest.mark.parametrize(
    ("variables", "name"),
    [
        ({"REDIS_URL": "", "REDIS_SENTINELS": "10.0.0.5:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_URL": "", "REDIS_SENTINEL_MASTER": "mymaster"}, "REDIS_SENTINELS"),
        # A password or db without the sentinels would be ignored, the layer left on REDIS_URL or in memory.
        ({"REDIS_URL": "", "REDIS_SENTINEL_MASTER_PASSWORD": "hunter2"}, "REDIS_SENTINELS"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_SENTINEL_PASSWORD": "hunter2"}, "REDIS_SENTINELS"),
        ({"REDIS_URL": "", "REDIS_SENTINEL_DB": "2"}, "REDIS_SENTINELS"),
        (
            {
                "REDIS_URL": "redis://:hunter2@127.0.0.1:6379/0",
                "REDIS_SENTINELS": "10.0.0.5:26379",
                "REDIS_SENTINEL_MASTER": "mymaster",
            },
            "REDIS_URL",
        ),
    ],
)
def test_a_half_sentinel_set_names_the_variable_to_correct(monkeypatch, variables, name):
    monkeypatch.setenv("DJANGO_DEBUG", "false")
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(SETTINGS))
    assert_one_sentence(1, str(stopped.value.code), name)


@pytest.mark.parametrize(("name", "value"), EXAMPLES)
def test_manage_py_names_the_malformed_variable(name, value):
    returncode, output = run([sys.executable, "manage.py", "check"], name, value)
    assert_one_sentence(returncode, output, name)
    assert len(output.strip().splitlines()) == 1, output


def test_pytest_names_the_malformed_variable():
    tests = str(Path(__file__).with_name("test_settings.py"))
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--co", tests]
    returncode, output = run(args, *EXAMPLES[0])
    assert_one_sentence(returncode, output, EXAMPLES[0][0])


# uvicorn parses WEB_CONCURRENCY itself before it imports anything of the project (a traceback from its Config):
# deploy/ runs the settings first for that reason.
def test_uvicorn_names_the_malformed_variable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    app = "{{ cookiecutter.project_slug }}.asgi:application"
    returncode, output = run([sys.executable, "-m", "uvicorn", app, "--port", port], *EXAMPLES[1])
    assert_one_sentence(returncode, output, EXAMPLES[1][0])


@pytest.mark.skipif(not (PROJECT_DIR / "deploy").is_dir(), reason="baked without deploy/")
def test_gunicorn_stops_once_naming_the_malformed_variable():
    # Not a worker failing and restarted forever: the master loads the settings before it starts any.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    args = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--no-control-socket"]
    returncode, output = run([*args, "--bind", f"127.0.0.1:{port}"], *EXAMPLES[0], timeout=30)
    assert_one_sentence(returncode, output, EXAMPLES[0][0])
    assert "Booting worker" not in output, output


@pytest.mark.skipif(not (PROJECT_DIR / "deploy").is_dir(), reason="baked without deploy/")
def test_the_systemd_unit_loads_the_settings_before_gunicorn():
    # gunicorn, like uvicorn, would meet a malformed WEB_CONCURRENCY with a traceback before any project code.
    unit = next((PROJECT_DIR / "deploy" / "systemd").glob("*-web.service")).read_text()
    [pre] = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStartPre=")]
    assert pre.endswith('python -c "import {{ cookiecutter.project_slug }}.settings"')
    returncode, output = run([sys.executable, "-c", "import {{ cookiecutter.project_slug }}.settings"], *EXAMPLES[2])
    assert_one_sentence(returncode, output, "WEB_CONCURRENCY")


@pytest.mark.parametrize(
    ("url", "keepalive"),
    [
        ("redis://:pw@127.0.0.1:6379/2", True),
        ("rediss://cache.example.org:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/etc/ssl/ca.pem", True),
        ("unix://:pw@/run/redis/redis.sock?db=3", False),
    ],
)
def test_each_url_form_gets_only_the_options_its_connection_takes(url, keepalive):
    host = redis_host(url)
    assert host["address"] == url and host["socket_timeout"] is None
    # redis-py refuses TCP keepalive options on a unix socket (TypeError on every connection).
    assert ("socket_keepalive" in host) is keepalive and ("socket_keepalive_options" in host) is keepalive


def test_the_check_connects_as_the_layer_does(settings, tmp_path):
    # A unix socket nobody listens on: the check goes through the layer's own pool and names the path.
    path = tmp_path / "redis.sock"
    settings.CHANNEL_LAYERS = channel_layers_for([f"unix://:hunter2@{path}?db=1"])
    [error] = redis_problems()
    assert error.id == "channel_layers.E001" and str(path) in error.msg and "hunter2" not in error.msg
    assert "socket_keepalive" not in error.msg


def sentinel_master(port, password="hunter2"):
    return redis_locations([], [("127.0.0.1", port)], ["mymaster"], db=2, password=password, sentinel_password="pw42")


def test_a_sentinel_master_gets_the_layer_options_and_sentinels_that_time_out():
    [location] = sentinel_master(26379)
    [host] = channel_layers_for([location])["default"]["CONFIG"]["hosts"]
    assert host["master_name"] == "mymaster" and host["sentinels"] == [("127.0.0.1", 26379)]
    assert host["db"] == 2 and host["password"] == "hunter2"
    assert host["socket_timeout"] is None and host["socket_keepalive"]
    timeout = SENTINEL_TIMEOUT_SECONDS
    assert host["sentinel_kwargs"] == {"password": "pw42", "socket_connect_timeout": timeout, "socket_timeout": timeout}
    # The cache asks the same sentinels for the same master.
    cache = caches_for([location])["default"]
    assert cache["LOCATION"] == "mymaster" and cache["OPTIONS"]["sentinels"] == [("127.0.0.1", 26379)]
    assert cache["OPTIONS"]["pool_class"].endswith(".sentinel.SentinelCachePool")


def test_the_check_names_the_sentinels_that_do_not_answer(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.CHANNEL_LAYERS = channel_layers_for(sentinel_master(closed_port))
    [error] = redis_problems()
    assert error.id == "channel_layers.E001" and "hunter2" not in error.msg + error.hint
    assert f"'mymaster' of the sentinels 127.0.0.1:{closed_port}" in error.msg, error.msg
    assert "REDIS_SENTINELS" in error.hint
