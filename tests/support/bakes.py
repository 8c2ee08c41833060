"""The template, the option combinations the suite bakes, and commands run in a baked project."""

import fcntl
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[2]
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"

# Option combinations the suite bakes; each baked project gets its own tests, lint and checks run.
MATRIX = {
    "defaults": {},
    "no-demo-apps": {"include_demo_apps": False, "editor": "both"},
    "no-deploy": {"include_deploy": False, "editor": "none"},
    "redis-layer": {"channel_layer": "redis", "editor": "both"},
    "other-name": {"project_name": "Zulu Chat Ops", "description": "Operations chat", "editor": "vscode"},
}


def load_file(path, name):
    """Import the template's file at `path` (relative to the template) as a module named `name`."""
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_DIR / path)
    module = importlib.util.module_from_spec(spec)
    # No __pycache__ in the template: cookiecutter would copy it into every bake.
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module


def load_hook(name):
    """A hook as plain Python: its Jinja sits in string literals, left unrendered."""
    return load_file(f"hooks/{name}.py", name)


def template_module(path, name):
    """A file of the template that holds no Jinja, hence what every bake gets to the letter, as a module."""
    text = (TEMPLATE_DIR / path).read_text()
    assert "{{" not in text and "{%" not in text, f"{path} has template variables: it differs in each bake"
    return load_file(path, name)


# Commits made in a bake's git repository (cruft, pre-commit) by these tests.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def baked_env(**extra):
    """The environment a baked project's commands run in: ours, minus what would confuse its pytest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env.pop("REDIS_URL", None)
    return {**env, **extra}


# How the template suite runs a baked suite's pytest (a hung test fails by the bake's own pytest-timeout setting).
BAKED_PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]


def run_captured(command, cwd, env, timeout):
    """subprocess.run capturing text output; past `timeout` seconds, fail with what the command printed so far."""
    try:
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as hung:
        out, err = (text.decode(errors="replace") if text else "" for text in (hung.output, hung.stderr))
        pytest.fail(f"{' '.join(map(str, command))} in {cwd} ran past {timeout} s:\n{out}\n{err}")


def run_in(project, *args, env=None, timeout=300):
    """Run a command in a baked project with this environment's Python; fail with its output."""
    command = [sys.executable if arg == "python" else str(arg) for arg in args]
    result = run_captured(command, project, env or baked_env(), timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed in {project}:\n{result.stdout}\n{result.stderr}"
    return result


def bake_and_migrate(cookies_session, **context):
    """A bake with its database migrated, for tests that serve it. Checks are skipped: a redis bake's .env
    names a Redis at 127.0.0.1:6379 that the system checks would (rightly) not find."""
    project = cookies_session.bake(extra_context=context).project_path
    run_in(project, "python", "manage.py", "migrate", "--skip-checks", "--verbosity", "0")
    return project


MYPY_CACHES = TEMPLATE_DIR / "build" / "mypy-cache"


def run_mypy(project, executable=sys.executable, env=None):
    """mypy on a bake ([tool.mypy] in its pyproject.toml), with `executable`'s environment. Most of a cold run
    (30 s) is reading Django's stubs, so every bake checked with one environment shares a cache (a warm run takes
    4 s; mypy re-checks whatever differs); one run at a time per cache."""
    cache = MYPY_CACHES / Path(executable).parent.parent.name
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return run_in(project, executable, "-m", "mypy", "--cache-dir", cache, ".", env=env)
