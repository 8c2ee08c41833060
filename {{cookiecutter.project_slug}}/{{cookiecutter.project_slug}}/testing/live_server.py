"""This project under a real uvicorn process on the test database, the way its server commands run it."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from . import processes

PROJECT_DIR = Path(__file__).resolve().parents[2]
APP = "{{ cookiecutter.project_slug }}.asgi:application"
SETTINGS = "{{ cookiecutter.project_slug }}.testing.settings"  # the project's, with the tests' password hasher


class LiveServer:
    """uvicorn serving this project on a free loopback port (`url`), its output appended to `log`.

    It sees what a test writes once committed: use it from tests marked django_db(transaction=True).
    """

    def __init__(self, process_env, log):
        self.port, self.log = processes.free_port(), log
        self.url = f"http://{processes.HOST}:{self.port}"
        # uvicorn serves no static files: Django does, in DEBUG
        self.env = {**process_env, "DJANGO_DEBUG": "true", "DJANGO_ALLOWED_HOSTS": processes.HOST}
        self.env["DJANGO_SETTINGS_MODULE"] = SETTINGS
        self.start()

    @property
    def pid(self):
        return self.process.pid

    def start(self):
        try:
            self.process = processes.start_uvicorn(APP, self.port, PROJECT_DIR, self.env, log=self.log)
        except processes.StartFailed as error:
            pytest.fail(f"{error}:\n{self.log.read_text()}")

    def stop(self):
        if not processes.stop(self.process):
            pytest.fail(f"uvicorn did not stop within 10 s of SIGTERM:\n{self.log.read_text()[-3000:]}")


@contextmanager
def live_servers(process_env: dict[str, str], directory: Path, count: int = 2) -> Iterator[list[LiveServer]]:
    """`count` LiveServers (logs server-1.log, server-2.log... in `directory`); those still running are stopped
    when the block ends. On the in-memory layer each process has a layer of its own: --redis joins them."""
    servers: list[LiveServer] = []
    try:
        for number in range(1, count + 1):
            servers.append(LiveServer(process_env, Path(directory) / f"server-{number}.log"))
        yield servers
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.stop()
