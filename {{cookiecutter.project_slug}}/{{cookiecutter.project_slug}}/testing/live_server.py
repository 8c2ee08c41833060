"""This project under a real uvicorn process on the test database, the way its server commands run it."""

from pathlib import Path

import pytest

from . import processes

PROJECT_DIR = Path(__file__).resolve().parents[2]
APP = "{{ cookiecutter.project_slug }}.asgi:application"


class LiveServer:
    """uvicorn serving this project on a free loopback port (`url`), its output appended to `log`.

    It sees what a test writes once committed: use it from tests marked django_db(transaction=True).
    """

    def __init__(self, process_env, log):
        self.port, self.log = processes.free_port(), log
        self.url = f"http://{processes.HOST}:{self.port}"
        # uvicorn serves no static files: Django does, in DEBUG
        self.env = {**process_env, "DJANGO_DEBUG": "true", "DJANGO_ALLOWED_HOSTS": processes.HOST}
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
