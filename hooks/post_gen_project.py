"""Finish a bake: write .env, remove what the chosen options leave out, say what to do next.

Side-effect free beyond the project folder (no network, pip or git), so cruft can re-run it.
Jinja lives only in the string literals below, so this file imports and is unit-tested as plain Python.
"""

import json
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
DEPLOY_FILES = ["deploy", "Dockerfile", "compose.yaml", ".dockerignore"]
EDITOR_FOLDERS = {"pycharm": ".run", "vscode": ".vscode"}
# Run configurations that start a demo app's code: `runworker tasks` serves the demo `tasks` worker.
DEMO_RUN_CONFIGS = [".run/runworker.run.xml"]


def write_env(project, channel_layer):
    """Create .env from .env.example with a fresh secret; an existing .env is kept as it is."""
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
    env_file.write_text("\n".join(lines) + "\n")


def remove_demo_apps(project, slug):
    """Do what a user does to drop an app: delete its folder and its line in PROJECT_APPS."""
    for app in DEMO_APPS:
        shutil.rmtree(project / app)
    settings = project / slug / "settings.py"
    app_lines = {f'    "{app}",' for app in DEMO_APPS}
    kept = [line for line in settings.read_text().splitlines() if line not in app_lines]
    settings.write_text("\n".join(kept) + "\n")


def remove_deploy_files(project):
    for name in DEPLOY_FILES:
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def without_reload_dirs(args, folders):
    kept = []
    for arg in args:
        if kept and kept[-1] == "--reload-dir" and arg in folders:
            kept.pop()
        else:
            kept.append(arg)
    return kept


def remove_reload_dirs(project, folders):
    """Stop the uvicorn run configurations watching `folders` (uvicorn skips a missing one without a word)."""
    for config in (project / ".run").glob("*.run.xml"):
        text = config.read_text()
        for folder in folders:
            text = text.replace(f"--reload-dir {folder} ", "")
        config.write_text(text)
    launch = project / ".vscode" / "launch.json"
    if launch.exists():
        data = json.loads(launch.read_text())
        for configuration in data["configurations"]:
            if "args" in configuration:
                configuration["args"] = without_reload_dirs(configuration["args"], folders)
        launch.write_text(json.dumps(data, indent=2) + "\n")


def remove_demo_run_configs(project):
    for config in DEMO_RUN_CONFIGS:
        (project / config).unlink(missing_ok=True)


def remove_other_editors(project, editor):
    """Keep the run configurations of the chosen editor: "both" keeps all, "none" keeps none."""
    kept = {"both": set(EDITOR_FOLDERS), "none": set()}.get(editor, {editor})
    for name, folder in EDITOR_FOLDERS.items():
        if name not in kept:
            shutil.rmtree(project / folder)


def print_next_steps(project):
    print(
        f"\nYour project is ready in {project}. Next:\n\n"
        f"    cd {project.name}\n"
        '    python -m venv .venv && .venv/bin/pip install -e ".[dev]"\n'
        "    .venv/bin/python manage.py migrate\n\n"
        'then run "uvicorn (reload)" from your editor, or the command under "Run" in README.md.\n'
    )


def main():
    project = Path.cwd()
    write_env(project, CHANNEL_LAYER)
    if not INCLUDE_DEMO_APPS:
        remove_demo_apps(project, SLUG)
        remove_demo_run_configs(project)
        remove_reload_dirs(project, DEMO_APPS)
    if not INCLUDE_DEPLOY:
        remove_deploy_files(project)
    remove_other_editors(project, EDITOR)
    print_next_steps(project)


if __name__ == "__main__":
    main()
