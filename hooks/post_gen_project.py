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

DEMO_APPS = ["echo", "chat", "notifications", "tasks"]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEPLOY_FILES = ["deploy", "Dockerfile", "compose.yaml", "compose.dev.yaml", ".dockerignore", "docs/deploy.md"]
EDITOR_FOLDERS = {"pycharm": ".run", "vscode": ".vscode"}
EDITOR_DOCS = {"pycharm": "docs/pycharm.md", "vscode": "docs/vscode.md"}
EDITOR_NAMES = {"pycharm": "PyCharm", "vscode": "VS Code"}
# Files about the demo apps beside their folders: `runworker tasks` serves the demo `tasks` worker.
DEMO_FILES = [".run/runworker.run.xml", "docs/demo-apps.md"]


def write_env(project, channel_layer):
    """Create .env from .env.example with a fresh secret, readable by its owner only (mode 0600: it holds the
    secret key); an existing .env is kept as it is."""
    env_file = project / ".env"
    if env_file.exists():
        return
    values = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    if channel_layer == "redis":
        values["REDIS_URL"] = DEFAULT_REDIS_URL
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


def remove_other_editors(project, editor):
    """Keep the run configurations of the chosen editor: "both" keeps all, "none" keeps none."""
    kept = {"both": set(EDITOR_FOLDERS), "none": set()}.get(editor, {editor})
    for name, folder in EDITOR_FOLDERS.items():
        if name not in kept:
            remove(project, [folder, EDITOR_DOCS[name]])


def next_steps(project, channel_layer, editor):
    """What to do after the bake, in words true for these options."""
    steps = [f"cd {project.name}", 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]"']
    if channel_layer == "redis":
        steps.append("sudo apt-get install redis-server    # Debian starts it on 127.0.0.1:6379, .env's REDIS_URL")
    steps.append(".venv/bin/python manage.py migrate")
    editors = [EDITOR_NAMES[name] for name in EDITOR_NAMES if editor in (name, "both")]
    run = f'run "uvicorn (reload)" from {" or ".join(editors)}, or ' if editors else "run "
    return (
        f"\nYour project is ready in {project}. Next:\n\n"
        + "".join(f"    {step}\n" for step in steps)
        + f'\nthen {run}the command under "Run" in README.md.\n'
    )


def main():
    project = Path.cwd()
    write_env(project, CHANNEL_LAYER)
    if not INCLUDE_DEMO_APPS:
        remove_demo_apps(project, SLUG)
        remove(project, DEMO_FILES)
        watch_only_kept_apps(project, SLUG)
    if not INCLUDE_DEPLOY:
        remove(project, DEPLOY_FILES)
    remove_other_editors(project, EDITOR)
    print(next_steps(project, CHANNEL_LAYER, EDITOR))


if __name__ == "__main__":
    main()
