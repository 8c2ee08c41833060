"""A project created with cruft from a git clone of this template stays checkable and updatable.

The template is copied from the working tree and committed in a temp repository, so uncommitted edits are
what is tested.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support.bakes import GIT_IDENTITY, TEMPLATE_DIR, baked_env

CRUFT = str(Path(sys.executable).parent / "cruft")


def run(cwd, *args, check=True):
    result = subprocess.run(args, cwd=cwd, env=baked_env(**GIT_IDENTITY), capture_output=True, text=True, timeout=120)
    assert not check or result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def commit_all(repo, message):
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", message)


@pytest.fixture
def template_repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "template"
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "__pycache__", ".pytest_cache", ".ruff_cache")
    shutil.copytree(TEMPLATE_DIR, repo, ignore=ignore)
    run(repo, "git", "init", "-q")
    commit_all(repo, "template as tested")
    return repo


def test_cruft_creates_checks_and_updates_a_project(template_repo, tmp_path):
    run(tmp_path, CRUFT, "create", "--no-input", "--output-dir", str(tmp_path / "out"), str(template_repo))
    project = tmp_path / "out" / "channels_project"
    assert (project / ".cruft.json").is_file()
    assert "up to date" in run(project, CRUFT, "check").stdout
    secret_env = (project / ".env").read_text()

    run(project, "git", "init", "-q")
    commit_all(project, "baked")
    readme = template_repo / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA line added to the template later.\n")
    commit_all(template_repo, "template changes")

    assert run(project, CRUFT, "check", check=False).returncode == 1
    run(project, CRUFT, "update", "--skip-apply-ask")
    assert (project / "README.md").read_text().endswith("A line added to the template later.\n")
    # .env (the project's own secret) is listed in [tool.cruft] skip: updates leave it alone.
    assert (project / ".env").read_text() == secret_env
    assert not list(project.rglob("*.rej"))
    assert "up to date" in run(project, CRUFT, "check").stdout
