"""Bake each option combination and check the result the way a user would meet it."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support.bakes import (
    BAKED_PYTEST,
    MATRIX,
    SCREENSHOTS,
    TEMPLATE_DIR,
    app_set_tests,
    baked_env,
    check_suite_output,
    names,
    run_captured,
    run_in,
    run_mypy,
)
from .support.pythons import PYTHONS, environment
from .support.run_configs import all_configs, check_uvicorn

UNRENDERED = re.compile(r"\{\{\s*cookiecutter|\{%-?\s*(if|for|raw)\b[^%]*cookiecutter")
DEMO_APPS = ["echo", "chat", "notifications", "tasks"]


def text_files(project):
    for path in project.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".sqlite3", ".pyc"}:
            yield path


@pytest.mark.fast
def test_no_jinja_survives_the_bake(baked):
    _, _, project = baked
    leftovers = [str(path) for path in text_files(project) if UNRENDERED.search(path.read_text())]
    assert not leftovers
    assert not [path for path in project.rglob("*") if "cookiecutter" in path.name]


@pytest.mark.fast
def test_ruff_finds_nothing(baked):
    _, _, project = baked
    run_in(project, sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    run_in(project, sys.executable, "-m", "ruff", "format", "--no-cache", "--check", ".")


@pytest.mark.fast
def test_django_system_checks_pass(baked, request):
    _, context, project = baked
    # The redis bake's .env names 127.0.0.1:6379; the check must find a live Redis, so point it at ours.
    extra = {"REDIS_URL": request.getfixturevalue("redis_url")} if context.get("channel_layer") == "redis" else {}
    run_in(project, "python", "manage.py", "check", "--fail-level", "WARNING", env=baked_env(**extra))
    run_in(project, "python", "manage.py", "makemigrations", "--check", "--dry-run")


@pytest.mark.fast
def test_env_file_has_a_fresh_secret_and_the_chosen_layer(baked):
    _, context, project = baked
    env = dict(line.split("=", 1) for line in (project / ".env").read_text().splitlines() if "=" in line)
    assert len(env["DJANGO_SECRET_KEY"]) >= 50
    if context.get("channel_layer") == "redis":
        assert env["REDIS_URL"].startswith("redis://")
    else:
        assert env["REDIS_URL"] == ""


@pytest.mark.fast
def test_demo_apps_are_present_only_when_chosen(baked):
    _, context, project = baked
    wanted = context.get("include_demo_apps", True)
    settings = next(project.glob("*/settings.py")).read_text()
    for app in DEMO_APPS:
        assert (project / app).is_dir() == wanted
        assert (f'    "{app}",' in settings) == wanted


@pytest.mark.other_bake
def test_another_name_leaves_no_trace_of_the_default_one(cookies):
    """A bake named otherwise holds the defaults' code under its own name only: no path or text keeps the default
    project name or package. Its CI workflow's tests job would repeat the defaults' (test_ci_workflow's
    SAME_CODE_JOBS); its run configurations, checks and lint run with its own name."""
    project = cookies.bake(extra_context=MATRIX["other-name"]).project_path
    options = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    default = options["project_name"]
    traces = {default, default.lower(), "channels_project", "channels-project"}
    assert project.name != "channels_project"
    found = [
        f"{path.relative_to(project)}: {trace!r}"
        for path in [project, *project.rglob("*")]
        for trace in traces
        if trace in path.name or (path.is_file() and trace in path.read_text(errors="replace"))
    ]
    assert not found, found


@pytest.mark.fast
def test_deploy_files_are_present_only_when_chosen(baked):
    _, context, project = baked
    wanted = context.get("include_deploy", True)
    for name in ["deploy/gunicorn.conf.py", "deploy/nginx.conf", "Dockerfile", "compose.yaml", ".dockerignore"]:
        assert (project / name).is_file() == wanted, name
    assert ("## Deploy" in (project / "README.md").read_text()) == wanted


def bake_files(project):
    """{relative path: bytes} of a bake but its docs, its .env and .env.example and its editor's files."""
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in project.rglob("*")
        if path.is_file()
        and path.name not in {".env", ".env.example", "README.md"}
        and path.relative_to(project).parts[0] not in {"docs", ".run", ".vscode"}
        and "__pycache__" not in path.parts
    }


@pytest.mark.other_bake
def test_a_bake_without_deploy_files_runs_the_defaults_code(cookies):
    """Without the deploy files a bake is the defaults' to the letter, less those files (and docs, .env,
    .env.example and editor files); the tests that name one of them pass there (they skip what needs it). So its
    CI tests job would be the defaults' but for those tests: test_ci_workflow's SAME_CODE_JOBS runs only its
    checks."""
    # Both fresh: a shared bake has what other tests wrote in it (db.sqlite3, .hypothesis/).
    default, project = cookies.bake().project_path, cookies.bake(extra_context=MATRIX["no-deploy"]).project_path
    with_deploy, without = bake_files(default), bake_files(project)
    removed = set(with_deploy) - set(without)
    removed_names = {path.split("/")[0] + ("/" if "/" in path else "") for path in removed}
    assert removed_names == {"deploy/", "Dockerfile", "compose.yaml", "compose.dev.yaml", ".dockerignore"}
    assert [path for path in without if without[path] != with_deploy.get(path)] == []
    naming = sorted(
        path.relative_to(project).as_posix()
        for path in project.glob("**/tests/test_*.py")
        if any(name in path.read_text() for name in removed_names)
    )
    assert naming, "no test names a deploy file"
    result = run_in(project, "python", *BAKED_PYTEST, *naming, timeout=570)
    check_suite_output(result.stdout, MATRIX["no-deploy"])


# Each bake's checks, mypy and its own suite (on the in-memory layer, on Redis, in the browser) run as its CI
# workflow runs them: tests/test_ci_workflow.py. Here, the defaults bake's suite on the newer interpreters, in the
# parts of SUITE_RUNS below.
SUITE_RUNS = {
    "memory-no-browser": ["-m", "not browser"],
    # On Redis, all but the browser tests that the in-memory layer runs (those that need Redis are marked `redis`).
    "redis-but-memory-browser": ["--redis", "-m", "not browser or redis"],
    # What only the in-memory layer runs, and the browser tests on it: the rest of a whole run is on Redis, above.
    "memory-layer-and-browser": ["-m", "memory_layer or (browser and not redis)"],
}
BROWSER_RUNS = {"memory-layer-and-browser"}  # runs that save screenshots of every page (--screenshots)


# The defaults bake on the other supported interpreters, in environments installed from its own uv.lock
# (tests/support/pythons.py): on Python 3.13 with Django 6.1 every test once, on Redis, and the in-memory layer's
# own and the browser tests on that layer; on 3.12 with Django 6.0 the part without browsers (and, below,
# checks, lint and mypy on both).
PYTHON_RUNS = {
    "py3.13": ["memory-layer-and-browser", "redis-but-memory-browser"],
    "py3.12": ["memory-no-browser"],
}


@pytest.mark.parametrize(("python", "run"), [(python, run) for python, runs in PYTHON_RUNS.items() for run in runs])
def test_baked_project_tests_pass_on_newer_python(default_bake, python, run):
    run_baked_suite("defaults", {}, default_bake, run, python=environment(python))


@pytest.mark.parametrize("python", list(PYTHONS))
def test_checks_and_lint_pass_on_newer_python(default_bake, python):
    executable = environment(python)
    env = python_env(executable)
    code = "import django, platform; print(platform.python_version(), django.__version__)"
    python_version, django_version = run_in(default_bake, executable, "-c", code, env=env).stdout.split()
    assert python_version == PYTHONS[python].version
    assert django_version.startswith(PYTHONS[python].django + ".")
    run_in(default_bake, executable, "manage.py", "check", "--fail-level", "WARNING", env=env)
    run_in(default_bake, executable, "manage.py", "makemigrations", "--check", "--dry-run", env=env)
    run_in(default_bake, executable, "-m", "ruff", "check", "--no-cache", ".", env=env)
    run_in(default_bake, executable, "-m", "ruff", "format", "--no-cache", "--check", ".", env=env)
    run_mypy(default_bake, executable, env=env)


def python_env(executable=None, **extra):
    """baked_env, with `executable`'s environment first on PATH (the servers and tools the suite starts)."""
    if executable is None:
        return baked_env(**extra)
    venv = Path(executable).parent.parent
    return baked_env(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", **extra)


def run_baked_suite(name, context, project, run, python=None):
    """Run part `run` of a bake's own suite with `python` (default: this environment's) in one process (beside
    this suite's own workers, more cost CPU and save no time; the suite on several workers is proven by the
    defaults' CI job, tests/test_ci_workflow.py SEVERAL_WORKERS), and check what it says (check_suite_output); a
    browser run keeps its screenshots in build/screenshots/<name>-<environment>/."""
    options = SUITE_RUNS[run]
    command = [str(python or sys.executable), *BAKED_PYTEST, *options]
    screenshots = None
    if run in BROWSER_RUNS:
        screenshots = SCREENSHOTS / (name if python is None else f"{name}-{Path(python).parent.parent.name}")
        shutil.rmtree(screenshots, ignore_errors=True)
        command += ["--screenshots", str(screenshots)]
    env = python_env(python)
    # Under the template suite's own workers a part takes 2-4 minutes; pytest-timeout stops a test at 600 s.
    result = run_captured(command, project, env, timeout=570)
    assert result.returncode == 0, f"{' '.join(command)} failed in {project}:\n{result.stdout}\n{result.stderr}"
    summary = check_suite_output(result.stdout, context, django_5=python is None, screenshots=screenshots)
    print(f"{name} {run} on {command[0]}: {summary}")


@pytest.mark.parametrize("layer", ["memory", "redis"])
def test_layer_choice_reaches_settings(cookies, layer, request):
    result = cookies.bake(extra_context={"channel_layer": layer})
    project = result.project_path
    code = "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['BACKEND'])"
    out = run_in(project, "python", "manage.py", "shell", "-c", code).stdout
    expected = "SingleReaderRedisChannelLayer" if layer == "redis" else "FanOutInMemoryChannelLayer"
    assert expected in out


def test_environment_variables_win_over_env_file(cookies):
    project = cookies.bake().project_path
    code = "from django.conf import settings; print(settings.ALLOWED_HOSTS, settings.DEBUG)"
    out = run_in(
        project,
        "python",
        "manage.py",
        "shell",
        "-c",
        code,
        env=baked_env(DJANGO_ALLOWED_HOSTS="example.org", DJANGO_DEBUG="false"),
    ).stdout
    assert out.strip().splitlines()[-1] == "['example.org'] False"


def test_missing_env_file_gives_one_clear_message(cookies):
    project = cookies.bake().project_path
    (project / ".env").unlink()
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=project, env=baked_env(), capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "no .env file" in result.stderr and "Copy .env.example to .env" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("app", DEMO_APPS)
def test_each_demo_app_can_be_deleted_on_its_own(cookies, app):
    """A user drops an app by deleting its folder and its PROJECT_APPS line; the rest keeps working."""
    project = cookies.bake().project_path
    shutil.rmtree(project / app)
    settings = next(project.glob("*/settings.py"))
    settings.write_text(settings.read_text().replace(f'    "{app}",\n', ""))
    run_in(project, "python", "manage.py", "check", "--fail-level", "WARNING")
    # The project's tests, and the tests of the apps that name the one deleted: the others cannot see it gone.
    naming = [other for other in DEMO_APPS if other != app and names(project / other, app)]
    result = run_in(project, "python", *BAKED_PYTEST, *app_set_tests(project, naming), timeout=570)
    assert re.search(r"\d+ passed", result.stdout) and " failed" not in result.stdout, result.stdout


@pytest.mark.parametrize(
    "context", [{"editor": "both"}, {"include_demo_apps": False, "editor": "both"}], ids=["with-demos", "no-demos"]
)
def test_newapp_scaffold_gives_a_project_that_still_passes_everything(cookies, context):
    project = cookies.bake(extra_context=context).project_path
    out = run_in(project, "python", "manage.py", "newapp", "orders").stdout
    assert "/ws/orders/" in out
    # The reload configurations now watch the new app too (check_uvicorn fails a PROJECT_APPS app not watched).
    uvicorn_configs = [config for config in all_configs(project) if config.module == "uvicorn"]
    assert len(uvicorn_configs) == 4
    for config in uvicorn_configs:
        check_uvicorn(config, project)
    run_in(project, "python", "manage.py", "check", "--fail-level", "WARNING")
    run_in(project, sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    run_in(project, sys.executable, "-m", "ruff", "format", "--no-cache", "--check", ".")
    assert "orders/tests/test_consumers.py" in run_in(project, "python", "-m", "pytest", "--co", "-q").stdout
    # What can see the new app beside the demo apps (the project's tests and its own); without them, the new app's
    # tests (the no-demo bake's own suite, run by its CI jobs, runs newapp and the new app's tests in a copy).
    selection = app_set_tests(project, ["orders"]) if context.get("include_demo_apps", True) else ["orders"]
    result = run_in(project, "python", *BAKED_PYTEST, *selection, timeout=570)
    assert re.search(r"\d+ passed", result.stdout) and " failed" not in result.stdout, result.stdout
