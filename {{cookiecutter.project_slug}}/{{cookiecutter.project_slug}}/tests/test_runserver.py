"""`manage.py runserver` cannot serve sockets (WSGI): it says so at start and names the uvicorn command."""

import re
import sys
from pathlib import Path

from {{ cookiecutter.project_slug }}.management.commands.runserver import uvicorn_command
from {{ cookiecutter.project_slug }}.server import uvicorn_args
from {{ cookiecutter.project_slug }}.testing import processes

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_runserver_warns_that_sockets_need_uvicorn(process_env, tmp_path):
    port = processes.free_port()
    log = tmp_path / "runserver.log"
    command = [sys.executable, "manage.py", "runserver", f"{processes.HOST}:{port}", "--noreload"]
    server = processes.launch(command, PROJECT_DIR, process_env, log=log)
    try:
        processes.wait_for_port(server, port, "runserver")
    finally:
        processes.stop(server)
    output = log.read_text()
    assert "every WebSocket (/ws/...) gets HTTP 404" in output, output
    assert re.search(r"python -m uvicorn \S+\.asgi:application --reload", output), output


def test_the_command_it_names_is_the_projects_server_command():
    command = uvicorn_command()
    assert command.startswith("python -m uvicorn {{ cookiecutter.project_slug }}.asgi:application --reload ")
    assert "--reload-dir {{ cookiecutter.project_slug }}" in command
    assert " ".join(uvicorn_args()) in command
