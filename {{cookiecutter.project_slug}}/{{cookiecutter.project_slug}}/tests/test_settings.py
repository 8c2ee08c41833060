import os
import subprocess
import sys
from pathlib import Path

import redis

from {{ cookiecutter.project_slug }} import health
from {{ cookiecutter.project_slug }}.settings import channel_layers_for
from {{ cookiecutter.project_slug }}.tests.commands import manage

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_no_redis_url_means_in_memory_layer():
    assert channel_layers_for([])["default"]["BACKEND"] == "{{ cookiecutter.project_slug }}.layers.memory.FanOutInMemoryChannelLayer"


def test_one_redis_url_means_redis_layer():
    layer = channel_layers_for(["redis://127.0.0.1:6379/0"])["default"]
    assert layer["BACKEND"] == "{{ cookiecutter.project_slug }}.layers.redis.SingleReaderRedisChannelLayer"
    [host] = layer["CONFIG"]["hosts"]
    assert host["address"] == "redis://127.0.0.1:6379/0"
    assert redis.ConnectionError in host["retry_on_error"]


def test_several_redis_urls_are_sharded_hosts():
    urls = ["redis://127.0.0.1:6379/0", "redis://127.0.0.1:6380/0"]
    assert [host["address"] for host in channel_layers_for(urls)["default"]["CONFIG"]["hosts"]] == urls


def test_redis_reads_have_no_timeout_and_use_keepalive():
    # A read timeout kills idle sockets (redis-py 8 defaults to 5 s, as long as channels-redis's blocking
    # wait) and, on Python 3.11, can lose a cancellation (see test_layers_redis.py).
    layer = channel_layers_for(["redis://127.0.0.1:6379/0"])["default"]
    assert all(host["socket_timeout"] is None and host["socket_keepalive"] for host in layer["CONFIG"]["hosts"])


def test_missing_secret_gives_one_clear_line():
    # An empty variable in the environment wins over .env, as a real deployment's would.
    env = {**os.environ, "DJANGO_SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_project_on_the_in_memory_layer_never_imports_redis():
    # redis_host() and health.unreachable_errors() import it when first needed: it is a third of a process's start.
    env = {**os.environ, "REDIS_URL": ""}
    code = (
        "import sys, {{ cookiecutter.project_slug }}.asgi, {{ cookiecutter.project_slug }}.urls; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'channels_redis')))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_sqlite_path_comes_from_the_environment(tmp_path):
    env = {**os.environ, "DJANGO_SQLITE_PATH": str(tmp_path / "data.sqlite3")}
    code = "from django.conf import settings; print(settings.DATABASES['default']['NAME'])"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "data.sqlite3"), result.stderr


def test_djangos_generic_classes_take_a_type_as_the_type_checks_want_them():
    # `mypy .` (disallow_any_generics) asks for admin.ModelAdmin[Group]; without django_stubs_ext.monkeypatch()
    # in settings.py that raised TypeError when the module was imported.
    from django.contrib import admin
    from django.contrib.auth.models import Group

    class GroupAdmin(admin.ModelAdmin[Group]):
        pass

    assert issubclass(GroupAdmin, admin.ModelAdmin)


def test_a_host_not_allowed_is_one_warning_line_naming_it_without_a_traceback():
    # Any scanner that reaches nginx's default server sends one: Django logs it as an error with its traceback.
    env = {**os.environ, "DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "example.org"}
    code = (
        "import logging; from django.test import Client; seen = []; handler = logging.Handler(); "
        "handler.emit = seen.append; logging.getLogger().addHandler(handler); "
        "status = Client().get('/', HTTP_HOST='scanner.example').status_code; "
        "print(status, [(r.name, r.levelname, bool(r.exc_info)) for r in seen])"
    )
    result = manage("shell", "-c", code, env=env)
    assert result.stdout.strip().splitlines()[-1] == "400 [('django.security.DisallowedHost', 'WARNING', False)]"
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Invalid HTTP_HOST header: 'scanner.example'."), result.stderr


def test_django_log_level_holds_for_djangos_own_loggers_too():
    # django.request's warnings (every 4xx) reached the console at DJANGO_LOG_LEVEL=ERROR: Django gives its loggers
    # a level of their own, and the root's level does not stop what they pass up.
    env = {**os.environ, "DJANGO_DEBUG": "false", "DJANGO_LOG_LEVEL": "ERROR"}
    quiet = ["django.request", health.logger.name]
    code = (
        f"import logging; [logging.getLogger(name).warning('quiet') for name in {quiet!r}]; "
        "logging.getLogger('django.request').error('loud')"
    )
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == ["loud"], result.stderr
