"""The hooks as plain Python (their Jinja sits in string literals), and as the cookiecutter CLI runs them."""

import json
import shutil
import subprocess
import sys

import pytest

from .support.bakes import TEMPLATE_DIR, load_hook

pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")

pytestmark = pytest.mark.fast


def bake_with_cli(output_dir, *answers):
    """The cookiecutter CLI with --no-input and KEY=VALUE answers, as a user runs it."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir), str(TEMPLATE_DIR), *answers]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("slug", ["my_chat", "shop2", "a", "live_ops_v2"])
def test_good_slugs_pass(slug):
    assert pre_gen.slug_problem(slug) is None


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("My_Chat", "not a valid project slug"),
        ("my-chat", "not a valid project slug"),
        ("2fast", "not a valid project slug"),
        ("_private", "not a valid project slug"),
        ("chat_", "not a valid project slug"),
        ("café", "not a valid project slug"),
        ("", "not a valid project slug"),
        ("class", "Python keyword"),
        ("asyncio", "standard-library module"),
        ("test", "standard-library module"),
        ("json", "standard-library module"),
        ("django", "the project uses"),
        ("channels", "the project uses"),
        ("uvicorn", "the project uses"),
        ("redis", "the project uses"),
        ("chat", "demo app chat"),
        ("playwright", "the project uses"),
        ("admin", "django.contrib.admin"),
        ("staticfiles", "django.contrib.staticfiles"),
        ("docs", "own docs/ folder"),
        ("deploy", "own deploy/ folder"),
        ("node_modules", ".gitignore"),
    ],
)
def test_bad_slugs_get_one_sentence_saying_why(slug, reason):
    problem = pre_gen.slug_problem(slug)
    assert reason in problem
    assert problem.count(". ") == 0 and problem.endswith((".", ")."))


@pytest.mark.parametrize("slug", ["asyncio", "Bad-Slug", "django", "1st"])
def test_cli_refuses_a_bad_slug_and_leaves_nothing_on_disk(tmp_path, slug):
    result = bake_with_cli(tmp_path, f"project_slug={slug}")
    assert result.returncode != 0
    assert f"ERROR: '{slug}'" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ['Say "hi"', "back\\slash"])
def test_names_that_would_break_generated_code_are_refused(name):
    assert "may not contain" in pre_gen.text_problem("project_name", name)


def make_project(tmp_path):
    (tmp_path / ".env.example").write_text("# comment\nDJANGO_SECRET_KEY=\nDJANGO_DEBUG=true\nREDIS_URL=\n")
    return tmp_path


def test_write_env_puts_a_fresh_secret_and_keeps_the_rest(tmp_path):
    project = make_project(tmp_path)
    post_gen.write_env(project, "memory")
    lines = (project / ".env").read_text().splitlines()
    assert lines[0] == "# comment" and lines[2] == "DJANGO_DEBUG=true" and lines[3] == "REDIS_URL="
    secret = lines[1].removeprefix("DJANGO_SECRET_KEY=")
    assert len(secret) >= 50
    (tmp_path / "other").mkdir()
    other = make_project(tmp_path / "other")
    post_gen.write_env(other, "memory")
    assert secret not in (other / ".env").read_text()


def test_write_env_with_redis_sets_a_url(tmp_path):
    project = make_project(tmp_path)
    post_gen.write_env(project, "redis")
    assert f"REDIS_URL={post_gen.DEFAULT_REDIS_URL}" in (project / ".env").read_text()


def test_write_env_never_overwrites_an_existing_env(tmp_path):
    project = make_project(tmp_path)
    (project / ".env").write_text("DJANGO_SECRET_KEY=mine\n")
    post_gen.write_env(project, "redis")
    assert (project / ".env").read_text() == "DJANGO_SECRET_KEY=mine\n"


def test_remove_demo_apps_deletes_folders_and_their_lines(tmp_path):
    (tmp_path / "proj").mkdir()
    for app in post_gen.DEMO_APPS:
        (tmp_path / app).mkdir()
    settings = tmp_path / "proj" / "settings.py"
    settings.write_text('PROJECT_APPS = [\n    "echo",\n    "chat",\n    "mine",\n]\n')
    post_gen.remove_demo_apps(tmp_path, "proj")
    assert settings.read_text() == 'PROJECT_APPS = [\n    "mine",\n]\n'
    assert not any((tmp_path / app).exists() for app in post_gen.DEMO_APPS)


def test_remove_deploy_files_leaves_the_rest(tmp_path):
    (tmp_path / "deploy" / "systemd").mkdir(parents=True)
    (tmp_path / "deploy" / "nginx.conf").write_text("")
    (tmp_path / "docs").mkdir()
    for name in ["Dockerfile", "compose.yaml", ".dockerignore", "manage.py", "docs/deploy.md", "docs/testing.md"]:
        (tmp_path / name).write_text("")
    post_gen.remove(tmp_path, post_gen.DEPLOY_FILES)
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["docs", "manage.py", "testing.md"]


@pytest.mark.parametrize("name", ['Ends with a quote"', "ends with backslash\\", "it's '''fine'''"])
def test_awkward_answers_reach_the_hook_as_data(tmp_path, name):
    result = bake_with_cli(tmp_path, f"project_name={name}", "project_slug=fine")
    if "'''" in name:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0
        assert "may not contain double quotes" in result.stderr
        assert "Traceback" not in result.stderr
        assert list(tmp_path.iterdir()) == []


def make_editor_folders(tmp_path):
    for folder in post_gen.EDITOR_FOLDERS.values():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "config").write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    ("editor", "kept"),
    [("pycharm", {".run"}), ("vscode", {".vscode"}), ("both", {".run", ".vscode"}), ("none", set())],
)
def test_remove_other_editors_keeps_only_the_chosen_folders(tmp_path, editor, kept):
    project = make_editor_folders(tmp_path)
    post_gen.remove_other_editors(project, editor)
    assert {path.name for path in project.iterdir()} == kept


def test_every_editor_choice_is_handled_by_the_hook():
    choices = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["editor"]
    assert set(choices) == {*post_gen.EDITOR_FOLDERS, "both", "none"}


def test_removing_the_demo_files_drops_the_worker_config_and_demo_page_only(tmp_path):
    (tmp_path / ".run").mkdir()
    (tmp_path / "docs").mkdir()
    for name in [".run/runworker.run.xml", ".run/migrate.run.xml", "docs/demo-apps.md", "docs/testing.md"]:
        (tmp_path / name).write_text("x")
    post_gen.remove(tmp_path, post_gen.DEMO_FILES)
    assert sorted(path.name for path in tmp_path.rglob("*") if path.is_file()) == ["migrate.run.xml", "testing.md"]
    post_gen.remove(tmp_path, post_gen.DEMO_FILES)  # already gone, or no .run/ at all: nothing to do


@pytest.mark.parametrize(
    ("layer", "editor", "expected", "unexpected"),
    [
        ("memory", "pycharm", ['run "uvicorn (reload)" from PyCharm, or'], ["redis", "VS Code"]),
        ("memory", "both", ["from PyCharm or VS Code"], ["redis"]),
        ("redis", "vscode", ["apt-get install redis-server", "starts it on 127.0.0.1", "from VS Code"], ["PyCharm"]),
        ("memory", "none", ['then run the command under "Run" in README.md'], ["editor", "uvicorn (reload)"]),
    ],
)
def test_next_steps_are_true_for_the_options(tmp_path, layer, editor, expected, unexpected):
    message = post_gen.next_steps(tmp_path / "proj", layer, editor)
    assert "python3 -m venv .venv" in message and "python -m" not in message.replace(".venv/bin/python", "")
    assert all(text in message for text in expected), message
    assert not any(text in message for text in unexpected), message


def test_without_demo_apps_the_reload_configs_watch_only_the_project_package(tmp_path):
    """The hook rewrites --reload-dir lists with the bake's own server.py, the writer newapp uses too."""
    package = tmp_path / "p"
    package.mkdir()
    shutil.copy(TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "{{cookiecutter.project_slug}}" / "server.py", package)
    (tmp_path / ".vscode").mkdir()
    args = ["p.asgi:app", "--reload", "--reload-dir", "p", "--reload-dir", "chat", "--port", "1"]
    launch = {"version": "0.2.0", "configurations": [{"name": "serve", "args": args}, {"name": "other"}]}
    (tmp_path / ".vscode" / "launch.json").write_text(json.dumps(launch, indent=2) + "\n")
    post_gen.watch_only_kept_apps(tmp_path, "p")
    written = json.loads((tmp_path / ".vscode" / "launch.json").read_text())
    assert written["configurations"][0]["args"] == ["p.asgi:app", "--reload", "--reload-dir", "p", "--port", "1"]
    assert written["configurations"][1] == {"name": "other"}


def make_project_with_database(tmp_path):
    (tmp_path / ".env.example").write_text("DJANGO_SECRET_KEY=\n# comment\nDATABASE_URL=\nREDIS_URL=\n")
    return tmp_path


def test_write_env_with_sqlite_leaves_database_url_empty(tmp_path):
    project = make_project_with_database(tmp_path)
    post_gen.write_env(project, "memory", "sqlite", "shop")
    assert "DATABASE_URL=\n" in (project / ".env").read_text()


def test_write_env_with_postgresql_names_the_development_database(tmp_path):
    project = make_project_with_database(tmp_path)
    post_gen.write_env(project, "redis", "postgresql", "shop")
    text = (project / ".env").read_text()
    assert "DATABASE_URL=postgres://shop:development@127.0.0.1:5432/shop\n" in text
    assert f"REDIS_URL={post_gen.DEFAULT_REDIS_URL}\n" in text and "# comment\n" in text


def make_compose_files(tmp_path):
    for name, variant in post_gen.DATABASE_VARIANTS.items():
        (tmp_path / name).write_text(f"{name} for sqlite")
        (tmp_path / variant).write_text(f"{name} for postgresql")
    return tmp_path


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_choose_database_files_keeps_the_variant_of_the_choice_under_the_plain_name(tmp_path, database):
    project = make_compose_files(tmp_path)
    post_gen.choose_database_files(project, database)
    assert sorted(path.name for path in project.iterdir()) == sorted(post_gen.DATABASE_VARIANTS)
    for name in post_gen.DATABASE_VARIANTS:
        assert (project / name).read_text() == f"{name} for {database}"


def test_choose_database_files_without_the_deploy_files_is_fine(tmp_path):
    for database in ["sqlite", "postgresql"]:
        post_gen.choose_database_files(tmp_path, database)
    assert list(tmp_path.iterdir()) == []


def test_every_database_choice_is_handled_by_the_hook():
    config = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    assert config["database"] == ["sqlite", "postgresql"]  # the first is the default: nothing to start
    assert set(config["__prompts__"]["database"]) == {"__prompt__", *config["database"]}
    for name, variant in post_gen.DATABASE_VARIANTS.items():
        assert (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / name).is_file(), name
        assert (TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / variant).is_file(), variant


@pytest.mark.parametrize(
    ("include_deploy", "expected", "unexpected"),
    [
        (True, ["    docker compose -f compose.dev.yaml up -d --wait    # PostgreSQL"], ['"Database"']),
        (False, ["PostgreSQL must answer at .env's DATABASE_URL", '"Database" in README.md'], ["compose"]),
    ],
)
def test_next_steps_start_postgresql_before_migrate(tmp_path, include_deploy, expected, unexpected):
    message = post_gen.next_steps(tmp_path / "proj", "memory", "none", "postgresql", include_deploy)
    assert all(text in message for text in expected), message
    assert not any(text in message for text in unexpected), message
    assert message.index("PostgreSQL") < message.index("manage.py migrate") or "Before migrate, PostgreSQL" in message
    assert "PostgreSQL" not in post_gen.next_steps(tmp_path / "proj", "memory", "none", "sqlite", include_deploy)


@pytest.mark.parametrize("include_deploy", ["True", "False"])
def test_cli_bakes_postgresql_with_and_without_the_deploy_files(tmp_path, include_deploy):
    result = bake_with_cli(tmp_path, "database=postgresql", f"include_deploy={include_deploy}", "editor=none")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "channels_project"
    assert not list(project.glob("compose.*postgresql*"))
    assert (project / "compose.yaml").is_file() == (include_deploy == "True")
    assert (
        "DATABASE_URL=postgres://channels_project:development@127.0.0.1:5432/channels_project\n"
        in (project / ".env").read_text()
    )
