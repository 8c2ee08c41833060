"""The edit-reload loop, against a real `uvicorn --reload` started from the bake's own "uvicorn (reload)" config.

Only the port of the configuration's command line is changed (to a free one).
"""

import time
import urllib.error
import urllib.request

import pytest

from .support.bakes import baked_env
from .support.dev_server import DevServer, echo, with_port
from .support.processes import free_port
from .support.run_configs import pycharm_configs


@pytest.fixture(scope="module")
def project(cookies_session):
    return cookies_session.bake(extra_context={"project_slug": "reloading"}).project_path


@pytest.fixture(scope="module")
def server(project):
    # What a developer's checkout has beside the code: a virtualenv and node_modules, full of watchable files.
    for path in [".venv/lib/python3.11/site-packages/somepkg/module.py", "node_modules/somepkg/index.html"]:
        (project / path).parent.mkdir(parents=True)
        (project / path).write_text("x = 1\n")
    config = next(config for config in pycharm_configs(project) if config.name == "uvicorn (reload)")
    port = free_port()
    with DevServer(with_port(config.args, port), config.cwd, baked_env(**config.env)) as server:
        server.port = port
        server.wait_for_echo(port)
        wait_until_watching(project, server)
        yield server


def wait_until_watching(project, server):
    """uvicorn starts its file watcher after the server, and the server answers within 0.3 s: an edit made
    before the watcher exists is never seen. Resave a source file until one reload proves it is watching."""

    def resave_and_see_a_reload():
        resave(project / "echo" / "views.py")
        deadline = time.monotonic() + 1
        while reloads(server) == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def restarted():
        assert sum("Application startup complete" in line for line in server.lines) == reloads(server) + 1

    server.wait_for(resave_and_see_a_reload)
    time.sleep(0.5)  # a second save caught by the same watcher start would reload once more
    server.wait_for(restarted)
    server.wait_for_echo(server.port)


def reloads(server):
    return sum("Reloading..." in line for line in server.lines)


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def resave(path):
    """Save a file unchanged, as an editor does."""
    path.write_text(path.read_text())


def get(server, path, host="localhost"):
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def wait_until(server, check, timeout=20):
    def probe():
        assert check()

    server.wait_for(probe, timeout)


def test_editing_a_consumer_changes_what_a_fresh_socket_gets(project, server):
    assert echo(server.port, "before") == "before"
    edit(project / "echo" / "consumers.py", '"text": event["text"]}', '"text": "edited: " + event["text"]}')
    wait_until(server, lambda: echo(server.port, "after") == "edited: after")
    assert "consumers.py" in next(line for line in reversed(server.lines) if "Reloading..." in line)


def test_editing_a_template_reloads(project, server):
    assert "template-edited" not in get(server, "/echo/")[1]
    edit(project / "echo" / "templates" / "echo" / "index.html", "<h1>Echo</h1>", "<h1>Echo template-edited</h1>")
    wait_until(server, lambda: "template-edited" in get(server, "/echo/")[1])


def test_an_edited_env_file_takes_effect_at_the_next_reload(project, server):
    # uvicorn does not watch .env (it sits at the root beside .venv, which must not be watched), but each
    # reload re-reads it: nothing loaded it into the parent process's environment (no --env-file/envFile).
    assert get(server, "/", host="example.test")[0] == 400
    edit(project / ".env", "DJANGO_ALLOWED_HOSTS=localhost,", "DJANGO_ALLOWED_HOSTS=example.test,localhost,")
    resave(project / "echo" / "views.py")
    wait_until(server, lambda: get(server, "/", host="example.test")[0] == 200)


def test_files_in_venv_and_node_modules_do_not_reload(project, server):
    time.sleep(1)  # let any reload from an earlier test finish
    before = reloads(server)
    for path in [".venv/lib/python3.11/site-packages/somepkg/module.py", "node_modules/somepkg/index.html"]:
        (project / path).write_text("x = 2\n")
    (project / ".venv" / "lib" / "new_module.py").write_text("y = 1\n")
    time.sleep(2)  # watchfiles reports a change within ~0.1 s; a reload would have started by now
    assert reloads(server) == before, server.output[-2000:]
    # The watcher is alive: a source file edited now does reload.
    resave(project / "echo" / "views.py")
    wait_until(server, lambda: reloads(server) > before)
    # A handshake that reaches the stopping worker gets HTTP 500 from uvicorn; a browser reconnects.
    assert server.wait_for_echo(server.port, "still here").endswith("still here")
