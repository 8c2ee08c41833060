"""Each bake ships a uv.lock that fits its pyproject.toml (`make lock` refreshes it, tests/support/lock.py), and
installs from it: `uv sync` gives exactly the locked versions with the dev tools, `uv run` runs the project."""

import json
import shutil
import tomllib

import pytest

from .support.bakes import PROJECT_TEMPLATE, baked_env, run_in
from .support.lock import lock_name, templated, uv


def uv_env(**extra):
    """baked_env without this environment's VIRTUAL_ENV (uv would warn that it is not the project's .venv), and
    with an empty cache: nothing in the checks below may need the network or what this machine downloaded."""
    env = baked_env(**extra)
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.fast
def test_uv_lock_is_current_with_no_network_and_no_cache(baked, tmp_path):
    _, _, project = baked
    lock = tomllib.loads((project / "uv.lock").read_text())
    assert lock_name(project.name) in [package["name"] for package in lock["package"]]
    run_in(project, uv(), "lock", "--check", "--offline", env=uv_env(UV_CACHE_DIR=str(tmp_path / "cache")))


@pytest.mark.fast
def test_the_template_lock_is_a_default_bake_s_lock_with_jinja_for_the_name(cookies):
    project = cookies.bake().project_path
    assert templated((project / "uv.lock").read_text()) == (PROJECT_TEMPLATE / "uv.lock").read_text()


@pytest.mark.parametrize("slug", ["zulu__ops2"])
def test_an_unusual_slug_gets_its_normalised_name_in_the_lock(cookies, slug, tmp_path):
    project = cookies.bake(extra_context={"project_slug": slug}).project_path
    assert '"zulu-ops2"' in (project / "uv.lock").read_text()
    run_in(project, uv(), "lock", "--check", "--offline", env=uv_env(UV_CACHE_DIR=str(tmp_path / "cache")))


def test_uv_sync_offline_installs_exactly_the_lock_and_uv_run_works(cookies):
    project = cookies.bake().project_path
    env = uv_env()
    # Once with the index (a no-op download where this machine's uv cache is warm), then offline from scratch.
    run_in(project, uv(), "sync", "--locked", env=env, timeout=600)
    shutil.rmtree(project / ".venv")
    run_in(project, uv(), "sync", "--locked", "--offline", env=env)
    python = project / ".venv" / "bin" / "python"
    listed = run_in(project, uv(), "pip", "list", "--format", "json", "--python", str(python), env=env).stdout
    installed = {package["name"]: package["version"] for package in json.loads(listed)}
    locked = {
        (package["name"], package["version"]) for package in tomllib.loads((project / "uv.lock").read_text())["package"]
    }
    assert installed.pop(lock_name(project.name)) == "0.1.0"
    assert set(installed.items()) <= locked
    # The dev group (the dev extra's tools) is in, and this Python's Django is the lock's 5.2.
    assert {"pytest", "pytest-django", "daphne", "ruff", "playwright", "hypothesis"} <= set(installed)
    assert installed["django"].startswith("5.2.")
    offline = ["run", "--offline", "--locked"]
    run_in(project, uv(), *offline, "python", "manage.py", "check", "--fail-level", "WARNING", env=env)
    run_in(project, uv(), *offline, "python", "-m", "uvicorn", "--version", env=env)
    tests = run_in(
        project,
        uv(),
        *offline,
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not browser",
        f"{project.name}/tests/test_settings.py",
        env=env,
    ).stdout
    assert " passed" in tests and "failed" not in tests, tests
