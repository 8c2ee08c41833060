"""The template, the option combinations the suite bakes, and commands run in a baked project."""

import fcntl
import importlib.util
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[2]
PROJECT_TEMPLATE = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"

# Option combinations the suite bakes; each baked project gets its own tests, lint and checks run.
MATRIX = {
    "defaults": {},
    "no-demo-apps": {"include_demo_apps": False, "editor": "both"},
    "no-deploy": {"include_deploy": False, "editor": "none"},
    "redis-layer": {"channel_layer": "redis", "editor": "pycharm"},
    "other-name": {"project_name": "Zulu Chat Ops", "description": "Operations chat", "editor": "vscode"},
}
# A bake on PostgreSQL: its code is the defaults'; its .env, compose files and CI workflow differ.
POSTGRESQL_BAKE = {"database": "postgresql", "editor": "none"}


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

# The project package's test modules that never see which apps a project has: how the settings read the
# environment and DATABASE_URL, the refusals of each process entry point, and newapp scaffolding an app in a copy
# of the project. A template test that adds or removes an app (newapp, deleting a demo app) runs the rest of the
# suite: these pass or fail as in the bake's own suite, which other tests run whole.
APP_SET_BLIND = ["test_settings.py", "test_settings_errors.py", "test_database.py", "test_newapp.py"]


def app_set_tests(project, apps=None):
    """pytest arguments for the part of a bake's suite that can see its set of apps: all but APP_SET_BLIND and
    the browser tests (the pages, sockets and routes of every app are in the rest). With `apps` (folder names),
    only the project package's tests and those apps' own: the other apps' tests cannot see the change."""
    package = next(project.glob("*/settings.py")).parent
    blind = [package / "tests" / name for name in APP_SET_BLIND]
    missing = [str(path) for path in blind if not path.is_file()]
    assert not missing, f"APP_SET_BLIND names modules this bake does not have: {missing}"
    paths = [] if apps is None else [str(package / "tests"), *apps]
    return [*paths, "-m", "not browser", *(f"--ignore={path}" for path in blind)]


def names(folder, word):
    """Whether any file in `folder` has `word` as a word (an import, a URL, a template path, a group name)."""
    pattern = re.compile(rf"\b{re.escape(word)}\b")
    return any(pattern.search(path.read_text(errors="replace")) for path in folder.rglob("*") if path.is_file())


def run_captured(command, cwd, env, timeout):
    """subprocess.run capturing text output; past `timeout` seconds, fail with what the command printed so far.

    The command runs in a process group of its own, stopped whole past the timeout: SIGTERM first (a baked
    pytest then tears down the servers it started), SIGKILL for what is left 10 s later."""
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                out, err = process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                out, err = "", ""
            finally:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"{' '.join(map(str, command))} in {cwd} ran past {timeout} s:\n{out}\n{err}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


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


@contextmanager
def mypy_cache(name):
    """The mypy cache folder `name` under build/mypy-cache/, held by this process until the block ends (a file
    lock: one mypy run at a time per cache). Most of a cold run (30 s) is reading Django's stubs, so every bake
    checked with one set of installed packages shares a cache: a warm run takes 4 s, and mypy re-checks whatever
    differs (a file at another path with the same content counts as unchanged)."""
    cache = MYPY_CACHES / name
    cache.mkdir(parents=True, exist_ok=True)
    with open(MYPY_CACHES / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield cache


def run_mypy(project, executable=sys.executable, env=None):
    """mypy on a bake ([tool.mypy] in its pyproject.toml), with `executable`'s environment and that environment's
    shared cache (mypy_cache)."""
    with mypy_cache(Path(executable).parent.parent.name) as cache:
        return run_in(project, executable, "-m", "mypy", "--cache-dir", cache, ".", env=env)


SCREENSHOTS = TEMPLATE_DIR / "build" / "screenshots"  # the browser tests' screenshots, one folder per bake
CHROMIUM = Path("/usr/bin/chromium")
# The skips every baked suite may have: what needs --redis, or runs only without it (both say how to run them).
ALWAYS_ALLOWED_SKIPS = ["--redis"]
CSP_SKIP = "sends no Content-Security-Policy: its CSP middleware is new in Django 6.0"
# The skips of a bake without the demo apps: each names the route, app or worker the test needs and this bake has not.
DEMO_SKIPS = ["is not routed", "is routed", "no routed consumer", "is not in PROJECT_APPS", "declares channel_workers"]


def check_suite_output(output, context, django_5=True, screenshots=None):
    """Fail unless `output` (a baked suite's pytest stdout, with the bake's `-ra`) is a pass: its summary line
    counts passes and no failure, and every skip is one this bake may have (what needs --redis or runs only
    without it, what the options in `context` left out, Django 6's CSP on Django 5.2 with `django_5`). Where
    chromium is installed (or in CI, which installs it) no test may skip for want of it, and `screenshots`, the
    folder of a browser run's --screenshots, must hold every page at both widths. Returns the summary line."""
    demo_apps = context.get("include_demo_apps", True)
    summary = output.splitlines()[-1] if output.strip() else ""
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, output
    allowed = list(ALWAYS_ALLOWED_SKIPS)
    if not demo_apps:
        allowed += DEMO_SKIPS
    if not context.get("include_deploy", True):
        allowed.append("baked without deploy/")
    if django_5:
        allowed.append(CSP_SKIP)
    skips = [line for line in output.splitlines() if line.startswith("SKIPPED")]
    assert all(any(reason in line for reason in allowed) for line in skips), output
    if CHROMIUM.exists() or os.environ.get("CI"):
        # The browser tests skip only without chromium, which CI installs: here they must have run.
        assert "chromium" not in output, output
        if screenshots is not None:
            demo_pages = ["echo", "chat-room", "notifications", "tasks", "tasks-jobs"]
            pages = ["home", "login"] + (demo_pages if demo_apps else [])
            saved = {path.name for path in Path(screenshots).glob("*.png")}
            assert saved == {f"{page}{size}.png" for page in pages for size in ["", "-phone"]}, saved
    return summary
