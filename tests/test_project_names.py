"""Project names and slugs: a slug made from the project name always works (and the bake says when it is not
simply the name's); only a slug the user typed is refused, for a reason true of that bake; an empty name is
refused. Kept apart from tests/test_template_input.py, which covers awkward names that bake unchanged."""

import json
import re
import subprocess
import sys

import pytest
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from slugify import slugify

from .support.bakes import TEMPLATE_DIR, baked_env, load_hook, run_in

pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")

# The names the issue reported refused, each a natural name for a Channels project.
NATURAL_NAMES = ["Chat", "Echo", "Tasks", "Notifications", "Channels", "Django", "Test", "Site", "Admin", "Docs"]
# Standard-library modules that Python 3.12 and 3.13 dropped: cookiecutter.json lists them (it is written
# on 3.11, the oldest Python the project supports), the hook on a newer Python no longer refuses them.
DROPPED_AFTER_3_11 = {
    *"asynchat asyncore distutils imp smtpd aifc audioop cgi cgitb chunk crypt imghdr lib2to3 mailcap".split(),
    *"msilib nis nntplib ossaudiodev pipes sndhdr spwd sunau telnetlib uu xdrlib".split(),
}


def default_slug(project_name):
    """The project slug cookiecutter.json's default gives for `project_name`, rendered by cookiecutter."""
    context = generate_context(
        context_file=str(TEMPLATE_DIR / "cookiecutter.json"), extra_context={"project_name": project_name}
    )
    return prompt_for_config(context, no_input=True)["project_slug"]


def bake(output_dir, *answers, stdin=None, options=()):
    command = [sys.executable, "-m", "cookiecutter", "--output-dir", str(output_dir), *options]
    command += ["--no-input"] if stdin is None else []
    command += [str(TEMPLATE_DIR), *answers]
    return subprocess.run(
        command, cwd=output_dir, env=baked_env(), input=stdin, capture_output=True, text=True, timeout=120
    )


def slug_notes(output):
    return [line for line in output.splitlines() if line.startswith("Project slug:")]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Chat", "chat_project"),
        ("Echo", "echo_project"),
        ("Tasks", "tasks_project"),
        ("Notifications", "notifications_project"),
        ("Channels", "channels_project"),
        ("Django", "django_project"),
        ("Test", "test_project"),
        ("Site", "site_project"),
        ("Email", "email_project"),
        ("Class", "class_project"),
        ("Conftest", "conftest_project"),
        ("Admin", "admin_project"),
        ("Messages", "messages_project"),
        ("Docs", "docs_project"),
        ("Node Modules", "node_modules_project"),
        ("2fast Chat", "project_2fast_chat"),
        ("1984", "project_1984"),
        ("!!!", "channels_project"),
        ("My Chat App", "my_chat_app"),
        ("Tests", "tests"),
    ],
)
def test_the_default_slug_is_one_the_hook_accepts(name, slug):
    assert default_slug(name) == slug
    assert pre_gen.slug_problem(slug, include_demo_apps=True) is None
    assert pre_gen.slug_problem(slug, include_demo_apps=False) is None


def test_no_name_the_hook_refuses_is_ever_the_default_slug():
    for name in sorted(pre_gen.reserved_slugs()):
        slug = default_slug(name.upper())
        assert slug == f"{name}_project", name
        assert pre_gen.slug_problem(slug) is None, slug


def test_cookiecutter_json_lists_exactly_the_names_the_hook_refuses():
    expression = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["project_slug"]
    listed = set(re.search(r"slug in '([a-z0-9_ ]+)'\.split\(\)", expression)[1].split())
    refused = pre_gen.reserved_slugs()
    expected = " ".join(sorted(refused | (listed & DROPPED_AFTER_3_11)))
    assert refused <= listed, f"cookiecutter.json's project_slug should list: {expected}"
    assert listed - refused <= DROPPED_AFTER_3_11, f"cookiecutter.json's project_slug should list: {expected}"
    if sys.version_info[:2] == (3, 11):
        assert listed == refused, f"cookiecutter.json's project_slug should list: {expected}"


@pytest.mark.parametrize(
    "name",
    [*NATURAL_NAMES, "Class", "2fast Chat", "007", "!!!", "", "Café Live", "日本語チャット", "real-time-ops", "Json"],
)
def test_the_hook_knows_the_default_slug_as_cookiecutter_json_makes_it(name):
    assert pre_gen.derived_slug(slugify(name, separator="_")) == default_slug(name)


def test_the_hook_and_the_post_gen_hook_name_the_same_demo_apps():
    assert pre_gen.DEMO_APPS == post_gen.DEMO_APPS


@pytest.mark.parametrize("name", NATURAL_NAMES)
def test_a_natural_name_bakes_and_says_which_slug_it_got(tmp_path, name):
    result = bake(tmp_path, f"project_name={name}")
    assert result.returncode == 0, result.stdout + result.stderr
    slug = f"{name.lower()}_project"
    assert [path.name for path in tmp_path.iterdir()] == [slug]
    notes = slug_notes(result.stdout)
    assert len(notes) == 1 and notes[0].startswith(f"Project slug: {slug} ('{name.lower()}' "), result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    project = tmp_path / slug
    assert f"# {name}" in (project / "README.md").read_text()
    run_in(project, "python", "manage.py", "check")


@pytest.mark.parametrize(
    ("name", "slug", "why"),
    [
        ("2fast Chat", "project_2fast_chat", "'2fast_chat' starts with a digit"),
        ("!!!", "channels_project", "the project name has no letters or digits"),
    ],
)
def test_a_name_that_makes_no_valid_slug_bakes_and_says_which_slug_it_got(tmp_path, name, slug, why):
    result = bake(tmp_path, f"project_name={name}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / slug / slug / "settings.py").is_file()
    notes = slug_notes(result.stdout)
    assert len(notes) == 1 and notes[0].startswith(f"Project slug: {slug} ({why}"), result.stdout


def test_a_name_that_makes_a_good_slug_bakes_without_a_note(tmp_path):
    result = bake(tmp_path, "project_name=My Chat App")
    assert result.returncode == 0, result.stderr
    assert slug_notes(result.stdout) == []


def test_the_interactive_default_is_the_working_slug(tmp_path):
    result = bake(tmp_path, stdin="Chat\n" + "\n" * 9)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(chat_project)" in result.stdout
    assert (tmp_path / "chat_project" / "chat_project" / "settings.py").is_file()


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["project_slug=chat"], "'chat' is the package of this bake's demo app chat: pick another"),
        (
            ["project_slug=chat", "include_demo_apps=false"],
            "'chat' is the folder of the demo app chat, which every bake writes and include_demo_apps=false deletes",
        ),
        (["project_slug=site"], "'site' would shadow Python's standard-library module 'site'"),
        (["project_name=Chat", "project_slug=django"], "'django' would shadow the module 'django' that the project"),
    ],
)
def test_a_typed_slug_is_refused_in_one_line_true_for_the_bake(tmp_path, answers, reason):
    result = bake(tmp_path, *answers)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"ERROR: {pre_gen.slug_problem(*problem_args(answers))}"]
    assert reason in result.stderr
    assert list(tmp_path.iterdir()) == []


def problem_args(answers):
    values = dict(answer.split("=", 1) for answer in answers)
    return values["project_slug"], values.get("include_demo_apps") != "false"


def test_a_demo_app_slug_really_collides_without_the_demo_apps(tmp_path):
    """What the refusal above says: without the hooks, the bake writes the demo folder over the package.
    If the template stops writing unused demo folders, the hook should accept 'chat' in such a bake."""
    result = bake(tmp_path, "project_slug=chat", "include_demo_apps=false", options=["--accept-hooks", "no"])
    assert result.returncode == 1
    assert 'chat/chat" directory already exists' in result.stdout + result.stderr


def test_a_typed_slug_that_conflicts_with_nothing_is_accepted(tmp_path):
    """'tests' names the apps' test packages, but as the project package it shadows nothing: it bakes."""
    result = bake(tmp_path, "project_slug=tests")
    assert result.returncode == 0, result.stdout + result.stderr
    assert slug_notes(result.stdout) == []
    run_in(tmp_path / "tests", "python", "manage.py", "check")


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_an_empty_project_name_is_refused(tmp_path, name):
    result = bake(tmp_path, f"project_name={name}")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"ERROR: {pre_gen.text_problem('project_name', name)}"]
    assert "The project name is empty" in result.stderr
    assert list(tmp_path.iterdir()) == []
