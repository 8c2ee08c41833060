"""DATABASE_URL chooses the database (dj-database-url): empty is SQLite, a URL is PostgreSQL; a malformed one is one
sentence naming it, without its password. The suite's own database follows `pytest --postgresql`."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from {{ cookiecutter.project_slug }}.environment import CONNECT_TIMEOUT_SECONDS, env_database
from {{ cookiecutter.project_slug }}.tests.commands import manage

PROJECT_DIR = Path(__file__).resolve().parents[2]
SHOW_DATABASE = (
    "from django.conf import settings; database = settings.DATABASES['default']; "
    "print(database['ENGINE'], database['NAME'], database.get('TEST', {}).get('NAME'))"
)
MALFORMED = [
    "notaurl",
    "postgres://app:hunter2@127.0.0.1:54x2/app",
    "postgres://app:hunter2@127.0.0.1:99999/app",
    "postgres://app:hunter2@127.0.0.1:5432",
    "postgres://app:hunter2@[::1/app",
    "mysql://app:hunter2@127.0.0.1/app",
    "redis://127.0.0.1:6379/0",
]


def manage_output(*args, **variables):
    """`manage.py ARGS` with `variables` over this environment (minus pytest's): (returncode, stdout + stderr)."""
    result = manage(*args, **variables)
    return result.returncode, result.stdout + result.stderr


def test_an_empty_url_is_sqlite_where_django_sqlite_path_says(tmp_path):
    path = tmp_path / "data.sqlite3"
    returncode, output = manage_output("shell", "-c", SHOW_DATABASE, DATABASE_URL="", DJANGO_SQLITE_PATH=str(path))
    assert returncode == 0, output
    engine, name, test_name = output.strip().splitlines()[-1].split()
    assert (engine, name) == ("django.db.backends.sqlite3", str(path))
    # The tests never touch the development database.
    assert test_name == str(PROJECT_DIR / "test_db.sqlite3")


def test_without_django_sqlite_path_it_is_db_sqlite3_beside_manage_py():
    returncode, output = manage_output("shell", "-c", SHOW_DATABASE, DATABASE_URL="", DJANGO_SQLITE_PATH="")
    assert returncode == 0, output
    engine, name, _ = output.strip().splitlines()[-1].split()
    assert (engine, name) == ("django.db.backends.sqlite3", str(PROJECT_DIR / "db.sqlite3"))


def test_a_postgres_url_gives_each_part(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app:p%40ss@db.example.org:6432/shop?connect_timeout=5")
    database = env_database("DATABASE_URL")
    assert database is not None
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["USER"], database["PASSWORD"], database["NAME"]) == ("app", "p@ss", "shop")
    assert (database["HOST"], database["PORT"]) == ("db.example.org", 6432)
    assert database["OPTIONS"] == {"connect_timeout": 5}
    # Under ASGI, Django advises against persistent connections.
    assert database["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize(("query", "seconds"), [("", CONNECT_TIMEOUT_SECONDS), ("?connect_timeout=30", 30)])
def test_a_postgres_connection_gives_up_on_a_server_that_never_answers(monkeypatch, query, seconds):
    monkeypatch.setenv("DATABASE_URL", f"postgres://app:pw@127.0.0.1:5432/shop{query}")
    database = env_database("DATABASE_URL")
    assert database is not None and database["OPTIONS"]["connect_timeout"] == seconds


@pytest.mark.parametrize("url", ["", "   "])
def test_an_empty_url_means_the_sqlite_fallback(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    assert env_database("DATABASE_URL") is None


def test_the_settings_read_a_postgres_url_in_a_process_of_their_own():
    url = "postgresql://app:hunter2@127.0.0.1:5432/shop"
    returncode, output = manage_output("shell", "-c", SHOW_DATABASE, DATABASE_URL=url)
    assert returncode == 0, output
    assert output.strip().splitlines()[-1].split()[:2] == ["django.db.backends.postgresql", "shop"]


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_url_is_one_sentence_naming_it_without_its_password(url):
    returncode, output = manage_output("check", DATABASE_URL=url)
    assert returncode != 0, output
    assert "Traceback" not in output and "hunter2" not in output, output
    [line] = output.strip().splitlines()
    assert line.startswith("DATABASE_URL=") and " is not valid: it must be " in line, output
    assert line.endswith("Correct it in .env or the environment."), output


def test_the_suite_runs_on_the_database_it_was_asked_for(request):
    wanted = "postgresql" if request.config.getoption("--postgresql") else "sqlite"
    assert connection.vendor == wanted


@pytest.mark.django_db(transaction=True)
def test_processes_the_tests_start_share_the_test_database(process_env, django_user_model):
    django_user_model.objects.create_user("shared")
    code = "from django.contrib.auth.models import User; print(User.objects.filter(username='shared').count())"
    environment = {key: value for key, value in process_env.items() if not key.startswith("PYTEST_")}
    result = manage("shell", "-c", code, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1", result.stdout + result.stderr


# A test file of its own, run alone: no test in its session uses the database, so pytest-django makes no test
# database for it.
LONE_TESTS = """
import os, subprocess, sys

COUNT_USERS = "from django.contrib.auth.models import User; print(User.objects.count())"


def manage(args, env):
    return subprocess.run([sys.executable, "manage.py", *args], env=env, capture_output=True, text=True, timeout=60)


def test_a_process_on_process_env_gets_the_migrated_test_database(process_env):
    result = manage(["shell", "-c", COUNT_USERS], process_env)
    assert result.returncode == 0, result.stderr
    assert process_env["DJANGO_SQLITE_PATH"].endswith("test_db.sqlite3"), process_env["DJANGO_SQLITE_PATH"]


def test_a_process_on_this_environment_gets_no_real_database():
    result = manage(["makemigrations", "--check", "--dry-run"], dict(os.environ))  # it opens the database
    assert result.returncode == 0, result.stderr
"""


def test_a_session_without_database_tests_never_opens_the_development_database(project_copy, tmp_path):
    # In a copy: the session run here makes and drops a test_db.sqlite3 of its own.
    development = tmp_path / "development.sqlite3"
    (project_copy / "test_lone.py").write_text(LONE_TESTS)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_lone.py"],
        cwd=project_copy,
        env={**environment, "DATABASE_URL": "", "DJANGO_SQLITE_PATH": str(development)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not development.exists(), "a test opened the development database"


STALE_TEST = """
import sqlite3


def test_process_env_gets_a_database_made_afresh(process_env):
    database = sqlite3.connect(process_env["DJANGO_SQLITE_PATH"])
    tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master")}
    assert "left_by_an_older_run" not in tables, "--create-db reused the old test database"
"""


def test_create_db_remakes_the_test_database_in_a_session_without_database_tests(project_copy):
    # --reuse-db keeps the test database between runs; --create-db beside it must make it afresh, as pytest-django
    # does for a session with database tests.
    old = sqlite3.connect(project_copy / "test_db.sqlite3")
    old.execute("CREATE TABLE left_by_an_older_run (id INTEGER)")
    old.commit()
    old.close()
    (project_copy / "test_stale.py").write_text(STALE_TEST)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--reuse-db", "--create-db", "test_stale.py"],
        cwd=project_copy,
        env={**environment, "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
