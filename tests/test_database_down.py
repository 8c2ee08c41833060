"""A PostgreSQL that goes away degrades a postgresql bake, never stops it: under a real uvicorn, /readyz turns 503
naming the database within its timeout while /healthz stays 200, and turns 200 again once PostgreSQL is back."""

import os

import pytest

from .support.bakes import baked_env, run_in
from .support.processes import launch, output, project_processes, start_uvicorn, stop
from .test_dependencies_down import READY, assert_ready_again, assert_unready, page_status, probe, probe_timeout

pytestmark = pytest.mark.other_bake


@pytest.fixture(scope="module")
def project(postgresql_bake):
    return postgresql_bake


def start_postgresql(directory, port=None):
    """The baked project's own PostgreSQL starter, its output collected (support.processes.launch); a missing
    PostgreSQL skips the test (fails it in CI, which installs it)."""
    try:
        return project_processes.start_postgresql_server(directory, port, timeout=30, launch=launch)
    except project_processes.MissingProgram as error:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(str(error))


def stop_postgresql(process):
    """Fast shutdown of a server started by start_postgresql; returns what it printed."""
    project_processes.stop_postgresql_server(process, timeout=15)
    process.reader.join(timeout=10)
    return output(process)


def test_readyz_follows_postgresql_while_healthz_stays_up(project, tmp_path):
    timeout = probe_timeout(project)
    postgresql, url = start_postgresql(tmp_path)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    server = None
    try:
        env = baked_env(DATABASE_URL=url, REDIS_URL="")
        run_in(project, "python", "manage.py", "migrate", "--verbosity", "0", env=env)
        server, address = start_uvicorn(project, env)
        assert page_status(address, "/") == 200
        assert [probe(address, "/readyz")[:2] for _ in range(3)] == [READY] * 3

        # PostgreSQL stopped: connections are refused at once, so /readyz says so well within its timeout.
        stop_postgresql(postgresql)
        assert_unready(address, "database", f"port {port}", timeout, times=3)

        # Back on the same port with the same data: /readyz turns 200 again by itself.
        postgresql, _ = start_postgresql(tmp_path, port)
        assert_ready_again(address, "PostgreSQL", times=3)
    finally:
        printed = stop(server) if server is not None else ""
        stop_postgresql(postgresql)
        project_processes.remove_postgresql_data(tmp_path)
    assert "Not ready:" in printed and "Ready again: the database answers." in printed, printed
    assert "Traceback" not in printed, printed
