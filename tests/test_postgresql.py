"""The `database` option: a postgresql bake's .env names compose.dev.yaml's database, a sqlite bake's names none.
A postgresql bake's whole suite runs on a real PostgreSQL (`pytest --postgresql`) in its CI job
(tests/test_ci_workflow.py, `tests-postgresql`)."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = pytest.mark.other_bake


def env_file(project):
    """The KEY=VALUE lines of a bake's .env, as a dict."""
    lines = (project / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_a_sqlite_bake_names_no_database_url(cookies_session):
    result = cookies_session.bake(extra_context={"editor": "none"})
    assert result.exit_code == 0, result.exception
    assert env_file(Path(result.project_path)).get("DATABASE_URL", "") == ""
    assert not list(Path(result.project_path).glob("compose.*postgresql*"))


def test_a_postgresql_bake_names_the_database_of_compose_dev(postgresql_bake):
    url = urlsplit(env_file(postgresql_bake)["DATABASE_URL"])
    assert url.scheme == "postgres"
    db = yaml.safe_load((postgresql_bake / "compose.dev.yaml").read_text())["services"]["db"]
    environment = db["environment"]
    assert (url.username, url.password) == (environment["POSTGRES_USER"], environment["POSTGRES_PASSWORD"])
    assert url.path == f"/{environment['POSTGRES_DB']}"
    # Published on loopback only, on the port the URL names, to PostgreSQL's own port in the container.
    assert db["ports"] == [f"{url.hostname}:{url.port}:5432"] and url.hostname == "127.0.0.1"
    assert not list(postgresql_bake.glob("compose.*postgresql*")), "the hook leaves no variant behind"
