"""Django's runserver (with staticfiles' static serving), warning first that it cannot serve this project's
sockets: it speaks WSGI, so every WebSocket handshake gets HTTP 404 and the pages reconnect for ever."""

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import Command as StaticfilesRunserver

from {{ cookiecutter.project_slug }}.server import uvicorn_args, with_reload_dirs

PROJECT = "{{ cookiecutter.project_slug }}"


def uvicorn_command():
    """The development server command of README.md "Run": uvicorn with reload and the project's socket options."""
    args = ["python", "-m", "uvicorn", f"{PROJECT}.asgi:application", "--reload", "--reload-include", "'*.html'"]
    args += uvicorn_args()
    return " ".join(with_reload_dirs(args, [PROJECT, *settings.PROJECT_APPS]))


def warning():
    return (
        "WARNING: runserver serves pages only. It speaks WSGI, so every WebSocket (/ws/...) gets HTTP 404 and the "
        "pages keep reconnecting. Run the project's server instead:\n    " + uvicorn_command()
    )


class Command(StaticfilesRunserver):
    help = StaticfilesRunserver.help + " Serves no WebSockets: use uvicorn (README.md, Run)."

    def inner_run(self, *args, **options):
        # Here rather than in handle(): printed by the serving process, again after each reload.
        self.stderr.write(self.style.WARNING(warning()))
        super().inner_run(*args, **options)
