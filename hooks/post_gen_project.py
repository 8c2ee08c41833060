"""Finish a bake: write .env, remove what the chosen options leave out, say what to do next.

Side-effect free beyond the project folder (no network, pip or git), so cruft can re-run it.
Jinja lives only in the string literals below, so this file imports and is unit-tested as plain Python.
"""

import secrets
import shutil
from pathlib import Path

SLUG = "{{ cookiecutter.project_slug }}"
CHANNEL_LAYER = "{{ cookiecutter.channel_layer }}"
INCLUDE_DEMO_APPS = "{{ cookiecutter.include_demo_apps }}" == "True"

DEMO_APPS = ["echo", "chat", "notifications", "tasks"]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


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


def print_next_steps(project):
    print(
        f"\nYour project is ready in {project}. Next:\n\n"
        f"    cd {project.name}\n"
        '    python -m venv .venv && .venv/bin/pip install -e ".[dev]"\n'
        "    .venv/bin/python manage.py migrate && .venv/bin/python -m uvicorn "
        f"{SLUG}.asgi:application --reload\n"
    )


def main():
    project = Path.cwd()
    write_env(project, CHANNEL_LAYER)
    if not INCLUDE_DEMO_APPS:
        remove_demo_apps(project, SLUG)
    print_next_steps(project)


if __name__ == "__main__":
    main()
