import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.management.commands.newapp import add_to_project_apps

PROJECT_DIR = Path(__file__).resolve().parents[2]
NEW_APP = "scaffold_probe"  # made in a copy of the project, never in the project itself
SETTINGS = 'X = 1\n\nPROJECT_APPS = [\n    "echo",\n    # one line per app\n]\n\nINSTALLED_APPS = [\n    "a",\n]\n'


def test_a_new_app_goes_after_the_others_and_before_the_comment():
    assert add_to_project_apps(SETTINGS, "orders") == SETTINGS.replace('    "echo",\n', '    "echo",\n    "orders",\n')


def test_an_empty_list_gets_its_first_app():
    text = "PROJECT_APPS = [\n]\n"
    assert add_to_project_apps(text, "orders") == 'PROJECT_APPS = [\n    "orders",\n]\n'


def test_a_list_written_differently_is_left_alone():
    assert add_to_project_apps('PROJECT_APPS = ["echo"]\n', "orders") is None


def run(project, *args):
    return subprocess.run([sys.executable, *args], cwd=project, capture_output=True, text=True, timeout=120)


def test_newapp_creates_a_wired_app_whose_tests_pass(project_copy):
    created = run(project_copy, "manage.py", "newapp", NEW_APP)
    assert created.returncode == 0, created.stderr
    assert f"/ws/{NEW_APP}/" in created.stdout
    assert f"--reload-dir {NEW_APP}" in created.stdout and f"-m pytest {NEW_APP}" in created.stdout
    assert f'    "{NEW_APP}",\n' in next(project_copy.glob("*/settings.py")).read_text()
    assert {path.name for path in (project_copy / NEW_APP).iterdir()} >= {"consumers.py", "routing.py", "tests"}
    tests = run(project_copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", NEW_APP)
    assert tests.returncode == 0 and "4 passed" in tests.stdout, tests.stdout + tests.stderr
    again = run(project_copy, "manage.py", "newapp", NEW_APP)
    assert again.returncode == 1 and f"'{NEW_APP}' is already in PROJECT_APPS" in again.stderr


def test_the_migration_makemigrations_writes_for_a_new_model_passes_the_projects_lint(project_copy):
    # Django writes each field on one line (the id field alone is over 120 characters), not in ruff's format.
    assert run(project_copy, "manage.py", "newapp", NEW_APP).returncode == 0
    (project_copy / NEW_APP / "models.py").write_text(MODELS)
    made = run(project_copy, "manage.py", "makemigrations", NEW_APP)
    assert made.returncode == 0, made.stderr
    for lint in (["check"], ["format", "--check"]):
        result = run(project_copy, "-m", "ruff", *lint, ".")
        assert result.returncode == 0, result.stdout + result.stderr


MODELS = """from django.db import models


class Vote(models.Model):
    choice = models.CharField(max_length=200)

    def __str__(self):
        return self.choice
"""


@pytest.mark.parametrize(("name", "error"), [("os", "conflicts"), ("my-app", "not a valid")])
def test_newapp_refuses_bad_names_and_changes_nothing(project_copy, name, error):
    settings_before = next(project_copy.glob("*/settings.py")).read_text()
    refused = run(project_copy, "manage.py", "newapp", name)
    assert refused.returncode == 1 and error in refused.stderr
    assert "Traceback" not in refused.stderr
    assert next(project_copy.glob("*/settings.py")).read_text() == settings_before
