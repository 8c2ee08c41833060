"""Finish a bake: write .env, remove what the chosen options leave out, say what to do next.

Side-effect free beyond the project folder (no network, pip or git), so cruft can re-run it.
Jinja lives only in the string literals below, so this file imports and is unit-tested as plain Python.
"""

import importlib.util
import os
import secrets
import shutil
from pathlib import Path

SLUG = "{{ cookiecutter.project_slug }}"
CHANNEL_LAYER = "{{ cookiecutter.channel_layer }}"
INCLUDE_DEMO_APPS = "{{ cookiecutter.include_demo_apps }}" == "True"
INCLUDE_DEPLOY = "{{ cookiecutter.include_deploy }}" == "True"
EDITOR = "{{ cookiecutter.editor }}"
DATABASE = "{{ cookiecutter.database }}"

DEMO_APPS = ["echo", "chat", "notifications", "tasks"]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# A postgresql bake's development database: compose.dev.yaml's db service creates this user, password and database,
# published on 127.0.0.1 only (the password guards nothing else: production sets its own, docs/deploy.md).
DEV_DATABASE_PASSWORD = "development"
DEV_DATABASE_PORT = 5432
# The files whose postgresql variant replaces them in a postgresql bake (whole files, no Jinja between the two):
# the variant is renamed over the file there, and deleted in every other bake.
DATABASE_VARIANTS = {"compose.yaml": "compose.postgresql.yaml", "compose.dev.yaml": "compose.dev.postgresql.yaml"}
DEPLOY_FILES = ["deploy", "Dockerfile", "compose.yaml", "compose.dev.yaml", ".dockerignore", "docs/deploy.md"]
EDITOR_FOLDERS = {"pycharm": ".run", "vscode": ".vscode"}
EDITOR_DOCS = {"pycharm": "docs/pycharm.md", "vscode": "docs/vscode.md"}
EDITOR_NAMES = {"pycharm": "PyCharm", "vscode": "VS Code"}
# Files about the demo apps beside their folders: `runworker tasks` serves the demo `tasks` worker.
DEMO_FILES = [".run/runworker.run.xml", "docs/demo-apps.md"]


def dev_database_url(slug):
    """The DATABASE_URL of a postgresql bake's .env: compose.dev.yaml's db service (user and database `slug`)."""
    return f"postgres://{slug}:{DEV_DATABASE_PASSWORD}@127.0.0.1:{DEV_DATABASE_PORT}/{slug}"


def write_env(project, channel_layer, database="sqlite", slug=SLUG):
    """Create .env from .env.example with a fresh secret, readable by its owner only (mode 0600: it holds the
    secret key); an existing .env is kept as it is. A redis bake gets REDIS_URL, a postgresql bake DATABASE_URL
    (the development database of `slug`); the other bakes leave them empty."""
    env_file = project / ".env"
    if env_file.exists():
        return
    values = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    if channel_layer == "redis":
        values["REDIS_URL"] = DEFAULT_REDIS_URL
    if database == "postgresql":
        values["DATABASE_URL"] = dev_database_url(slug)
    lines = []
    for line in (project / ".env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={values[key]}" if key in values else line)
    # Created with mode 0600, so the secret is never readable by others, not even for a moment.
    with os.fdopen(os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as output:
        output.write("\n".join(lines) + "\n")


def remove_demo_apps(project, slug):
    """Do what a user does to drop an app: delete its folder and its line in PROJECT_APPS."""
    for app in DEMO_APPS:
        shutil.rmtree(project / app)
    settings = project / slug / "settings.py"
    app_lines = {f'    "{app}",' for app in DEMO_APPS}
    kept = [line for line in settings.read_text().splitlines() if line not in app_lines]
    settings.write_text("\n".join(kept) + "\n")


def remove(project, names):
    """Delete these files and folders of the project; one that is not there is fine."""
    for name in names:
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def watch_only_kept_apps(project, slug):
    """Point the uvicorn reload configurations at the folders that are left (uvicorn skips a missing one
    without a word), with the bake's own writer of those lists: the project's server.py."""
    spec = importlib.util.spec_from_file_location("baked_server", project / slug / "server.py")
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    server.sync_reload_dirs(project, [slug])


def choose_database_files(project, database):
    """Keep the variant of each file in DATABASE_VARIANTS that fits `database`: a postgresql bake's variant
    replaces the file, any other bake drops the variant. A file the bake does not have is fine."""
    for name, variant in DATABASE_VARIANTS.items():
        if database == "postgresql" and (project / variant).exists():
            (project / variant).replace(project / name)
        else:
            (project / variant).unlink(missing_ok=True)


def remove_other_editors(project, editor):
    """Keep the run configurations of the chosen editor: "both" keeps all, "none" keeps none."""
    kept = {"both": set(EDITOR_FOLDERS), "none": set()}.get(editor, {editor})
    for name, folder in EDITOR_FOLDERS.items():
        if name not in kept:
            remove(project, [folder, EDITOR_DOCS[name]])


def next_steps(project, channel_layer, editor, database="sqlite", include_deploy=True):
    """What to do after the bake, in words true for these options."""
    steps = [f"cd {project.name}", 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]"']
    if database == "postgresql" and include_deploy:
        steps.append(
            "docker compose -f compose.dev.yaml up -d --wait"
            "    # PostgreSQL where .env says (no Docker: README, Database)"
        )
    if channel_layer == "redis":
        steps.append("sudo apt-get install redis-server    # Debian starts it on 127.0.0.1:6379, .env's REDIS_URL")
    steps.append(".venv/bin/python manage.py migrate")
    editors = [EDITOR_NAMES[name] for name in EDITOR_NAMES if editor in (name, "both")]
    run = f'run "uvicorn (reload)" from {" or ".join(editors)}, or ' if editors else "run "
    # Without compose.dev.yaml there is no one command that gives PostgreSQL: the README's "Database" says how.
    database_first = (
        '\n(Before migrate, PostgreSQL must answer at .env\'s DATABASE_URL: "Database" in README.md says how.)\n'
        if database == "postgresql" and not include_deploy
        else ""
    )
    return (
        f"\nYour project is ready in {project}. Next:\n\n"
        + "".join(f"    {step}\n" for step in steps)
        + database_first
        + f'\nthen {run}the command under "Run" in README.md.\n'
    )


def main():
    project = Path.cwd()
    write_env(project, CHANNEL_LAYER, DATABASE, SLUG)
    choose_database_files(project, DATABASE)
    if not INCLUDE_DEMO_APPS:
        remove_demo_apps(project, SLUG)
        remove(project, DEMO_FILES)
        watch_only_kept_apps(project, SLUG)
    if not INCLUDE_DEPLOY:
        remove(project, DEPLOY_FILES)
    remove_other_editors(project, EDITOR)
    print(next_steps(project, CHANNEL_LAYER, EDITOR, DATABASE, INCLUDE_DEPLOY))


if __name__ == "__main__":
    main()
