"""The baked .pre-commit-config.yaml: its hooks install from PyPI, pass on every bake as baked and catch what they
are for; its ruff is the one uv.lock pins and its django-upgrade targets the oldest Django the project supports.

pre-commit builds the hooks' environments (ruff, django-upgrade: about 35 s, from PyPI) into PRE_COMMIT_HOME,
build/pre-commit/ here: the first test worker that needs them builds them while the others wait on a file lock,
and they are kept across runs like build/venvs/ (pre-commit keys each by its pinned versions: a new pin builds
anew). After that a run over a whole bake takes about a second.
"""

import fcntl
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .support.bakes import GIT_IDENTITY, PROJECT_TEMPLATE, TEMPLATE_DIR, baked_env, run_captured
from .support.lock import LOCK_NAME_LINE, LOCK_TEMPLATE
from .support.run_configs import project_package

PRE_COMMIT = str(Path(sys.executable).with_name("pre-commit"))
HOME = TEMPLATE_DIR / "build" / "pre-commit"
CONFIG = PROJECT_TEMPLATE / ".pre-commit-config.yaml"


def run(repo, *args, check=True):
    """The command's result, its stdout and stderr as one text in `output` (git gives a hook's output to stderr)."""
    result = run_captured(args, repo, baked_env(PRE_COMMIT_HOME=str(HOME), **GIT_IDENTITY), timeout=600)
    result.output = result.stdout + result.stderr
    assert not check or result.returncode == 0, f"{' '.join(args)}:\n{result.output}"
    return result


def git_repo(project, tmp_path):
    """A copy of the bake (the shared one stays as baked) in a git repository with every file staged, and the
    hooks' environments made if missing, by one worker at a time (a file lock, as tests/support/pythons.py does)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / project.name
    shutil.copytree(project, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache"))
    run(repo, "git", "init", "-q")
    run(repo, "git", "add", "-A")
    HOME.mkdir(parents=True, exist_ok=True)
    with open(HOME.parent / "pre-commit.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run(repo, PRE_COMMIT, "install-hooks")
    return repo


def hook_results(output):
    """{hook name: Passed/Failed/Skipped} from pre-commit's report."""
    return dict(re.findall(r"^(.+?)\.{3,}(Passed|Failed|\(no files to check\)Skipped)$", output, re.MULTILINE))


@pytest.mark.fast
def test_pins_agree_with_the_lock_and_the_oldest_django():
    config = CONFIG.read_text()
    assert "{{" not in config and "{%" not in config, "every bake gets the same hooks"
    hooks = {hook["id"]: hook for repo in yaml.safe_load(config)["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "django-upgrade"} <= set(hooks)
    for hook in hooks.values():
        assert all("==" in dependency for dependency in hook.get("additional_dependencies", [])), hook["id"]

    lock = tomllib.loads(LOCK_TEMPLATE.read_text().removeprefix(LOCK_NAME_LINE))
    [locked_ruff] = [package["version"] for package in lock["package"] if package["name"] == "ruff"]
    for hook in ("ruff-check", "ruff-format"):
        assert hooks[hook]["additional_dependencies"] == [f"ruff=={locked_ruff}"], f"{hook}: uv.lock has {locked_ruff}"

    pyproject = tomllib.loads((PROJECT_TEMPLATE / "pyproject.toml").read_text())
    [oldest] = [m[1] for d in pyproject["project"]["dependencies"] if (m := re.match(r"django>=([\d.]+)", d))]
    target = re.search(r"--target-version (\S+)", hooks["django-upgrade"]["entry"])
    assert target and target[1] == oldest, f"django-upgrade targets {target and target[1]}; the oldest is {oldest}"


@pytest.mark.fast
def test_hooks_pass_on_the_bake(baked, tmp_path):
    _, _, project = baked
    repo = git_repo(project, tmp_path)
    result = run(repo, PRE_COMMIT, "run", "--all-files", check=False)
    assert result.returncode == 0, result.output
    assert set(hook_results(result.output).values()) == {"Passed"}, result.output
    # Nothing rewritten either: django-upgrade at 5.2 keeps what 5.2 needs (settings.py's DEFAULT_AUTO_FIELD).
    assert run(repo, "git", "diff", "--name-only").stdout == ""


@pytest.mark.fast
def test_the_readme_steps_set_up_the_hooks_in_a_fresh_bake(default_bake, tmp_path):
    """A bake is not a git repository, where `pre-commit install` fails: the README's paragraph that introduces
    the hooks gives every step from a fresh bake, in order (its `git ...` and `pre-commit install` commands)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    readme = (default_bake / "README.md").read_text()
    [paragraph] = [text for text in readme.split("\n\n") if "pre-commit install" in text]
    codes = re.findall(r"`([^`]+)`", paragraph)
    steps = [code for code in codes if code.startswith("git ") or code.endswith(" install")]
    assert steps[-1] == ".venv/bin/pre-commit install", paragraph
    repo = tmp_path / default_bake.name
    shutil.copytree(default_bake, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache"))
    for step in steps:
        run(repo, *[PRE_COMMIT if word == ".venv/bin/pre-commit" else word for word in step.split()])
    assert (repo / ".git" / "hooks" / "pre-commit").is_file()


# What each hook is for: a lint error ruff fixes (F401) and one it cannot (E741), a format error, and Django calls
# django-upgrade rewrites (request.META for Django 2.2+, finders.find's all= for 5.2+).
BAD = """\
import os
from django.contrib.staticfiles import finders
from django.http import HttpResponse


def view(request):
    l = finders.find("site.css", all=True)
    return HttpResponse(request.META["HTTP_X_TOKEN"], status = 200 if l else 404)
"""
FIXED = """\
from django.contrib.staticfiles import finders
from django.http import HttpResponse


def view(request):
    l = finders.find("site.css", find_all=True)
    return HttpResponse(request.headers["x-token"], status=200 if l else 404)
"""


@pytest.mark.fast
def test_hooks_run_at_each_commit_and_refuse_what_they_are_for(default_bake, tmp_path):
    repo = git_repo(default_bake, tmp_path)
    run(repo, PRE_COMMIT, "install")  # the README's once-per-repository step
    first = run(repo, "git", "commit", "-q", "-m", "baked").output
    assert hook_results(first) == {"django-upgrade": "Passed", "ruff check": "Passed", "ruff format": "Passed"}

    bad = repo / project_package(repo) / "views_to_check.py"
    bad.write_text(BAD)
    run(repo, "git", "add", "-A")
    refused = run(repo, "git", "commit", "-q", "-m", "bad", check=False)
    assert refused.returncode != 0, refused.output
    assert hook_results(refused.output) == dict.fromkeys(["django-upgrade", "ruff check", "ruff format"], "Failed")
    assert bad.read_text() == FIXED
    assert "E741" in refused.output

    # What they rewrote passes them; what ruff cannot fix still stops the commit.
    run(repo, "git", "add", "-A")
    again = run(repo, "git", "commit", "-q", "-m", "bad", check=False)
    assert again.returncode != 0 and "E741" in again.output, again.output
    assert hook_results(again.output) == {"django-upgrade": "Passed", "ruff check": "Failed", "ruff format": "Passed"}
    assert run(repo, "git", "log", "--oneline").stdout.count("\n") == 1
