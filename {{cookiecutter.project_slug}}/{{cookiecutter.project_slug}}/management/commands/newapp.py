"""`python manage.py newapp NAME`: Django's startapp with this project's Channels app template.

The new app gets routing.py (one socket route), consumers.py (a consumer to fill in) and passing tests,
and its line in settings.PROJECT_APPS, which wires its routes into the root router.
"""

import re
import sys
from contextlib import chdir
from pathlib import Path

from django.conf import settings
from django.core.management import CommandError
from django.core.management.commands.startapp import Command as StartAppCommand

from {{ cookiecutter.project_slug }}.server import sync_reload_dirs

APP_TEMPLATE = Path(__file__).resolve().parents[2] / "app_template"
PROJECT_APPS_LIST = re.compile(r"^PROJECT_APPS = \[\n(?P<body>(?:    .*\n)*?)\]", re.MULTILINE)


def add_to_project_apps(settings_text, app):
    """settings.py's text with `app` added to PROJECT_APPS, or None if the list is not where we expect it."""
    found = PROJECT_APPS_LIST.search(settings_text)
    if found is None:
        return None
    lines = found["body"].splitlines(keepends=True)
    # New apps go after the listed ones and before the trailing comment, if there is one.
    at = len(lines)
    while at and lines[at - 1].strip().startswith("#"):
        at -= 1
    lines.insert(at, f'    "{app}",\n')
    start, end = found.span("body")
    return settings_text[:start] + "".join(lines) + settings_text[end:]


class Command(StartAppCommand):
    help = "Create a Channels app (socket route, consumer, tests) beside manage.py and add it to PROJECT_APPS."
    missing_args_message = "Give the new app's name, e.g.: .venv/bin/python manage.py newapp orders"

    def handle(self, **options):  # type: ignore[override]  # call_command() passes every option by keyword
        name = options["name"]
        if name in settings.PROJECT_APPS:
            raise CommandError(f"{name!r} is already in PROJECT_APPS.")
        options.update(template=str(APP_TEMPLATE), project_package=self.project_package())
        # startapp creates the app in the current directory: make that the project's, beside manage.py.
        with chdir(settings.BASE_DIR):
            super().handle(**options)
        self.register(name)

    def project_package(self):
        return settings.SETTINGS_MODULE.rsplit(".", 1)[0]

    def python(self):
        """The interpreter running this command, as the README writes it (.venv/bin/python) when it is the project's."""
        interpreter = Path(sys.executable)
        inside = interpreter.is_relative_to(settings.BASE_DIR)
        return str(interpreter.relative_to(settings.BASE_DIR) if inside else interpreter)

    def register(self, name):
        module_file = sys.modules[settings.SETTINGS_MODULE].__file__
        assert module_file is not None  # settings is a .py file
        settings_file = Path(module_file)
        text = add_to_project_apps(settings_file.read_text(), name)
        if text is None:
            self.stdout.write(
                self.style.WARNING(f'Created {name}/. Add this line to PROJECT_APPS in {settings_file}:\n    "{name}",')
            )
            return
        settings_file.write_text(text)
        # uvicorn watches only the folders it is given: the IDE configurations follow PROJECT_APPS.
        changed = sync_reload_dirs(settings.BASE_DIR, [self.project_package(), *settings.PROJECT_APPS, name])
        watched = [str(path.relative_to(settings.BASE_DIR)) for path in changed]
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {name}/ and added it to PROJECT_APPS"
                + (f" and to the reload folders of {', '.join(watched)}" if watched else "")
                + f": its socket is /ws/{name}/. A uvicorn command you type yourself needs --reload-dir {name}."
                + f" Try it: {self.python()} -m pytest {name}"
            )
        )
