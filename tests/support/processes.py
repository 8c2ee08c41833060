"""Real server processes for the template's tests: redis-server, uvicorn, gunicorn, nginx, manage.py commands.

Each starter waits until its port answers and returns a Popen whose output is collected in `process.lines`;
`stop` ends one and returns what it printed. The free port, redis-server and uvicorn starters are the baked
project's own (`<slug>/testing/processes.py`, plain Python in the template), not copies.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from .bakes import template_module

# The baked project's own starters: that file holds no Jinja, so every bake gets it to the letter.
project_processes = template_module(
    "{{cookiecutter.project_slug}}/{{cookiecutter.project_slug}}/testing/processes.py", "project_processes"
)
free_port, resident_kb = project_processes.free_port, project_processes.resident_kb


def launch(args, cwd, env=None, **popen):
    """Popen with the combined output read as it comes by a thread, into `process.lines`: a server that
    logs a line per socket would otherwise block on a full pipe that nobody reads until it stops."""
    process = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen
    )
    process.lines = []

    def read():
        for line in process.stdout:
            process.lines.append(line)

    process.reader = threading.Thread(target=read, daemon=True)
    process.reader.start()
    return process


def output(process):
    return "".join(process.lines)


@contextmanager
def failing_with_output():
    """A process that did not start fails the test with what it printed; a missing program skips it
    (fails it in CI, which installs every program the tests use)."""
    try:
        yield
    except project_processes.MissingProgram as error:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(str(error))
    except project_processes.StartFailed as error:
        pytest.fail(f"{error}:\n{stop(error.process)}")


def wait_for_port(process, port, what, timeout=20):
    with failing_with_output():
        return project_processes.wait_for_port(process, port, what, timeout)


def stop(process):
    """Terminate a process started here (if still running) and return everything it printed."""
    project_processes.stop(process, timeout=15)
    process.reader.join(timeout=10)
    return output(process)


def read_until(process, text, count=1, timeout=30):
    """Wait until a running process has printed `text` `count` times; return what it printed so far."""
    deadline = time.monotonic() + timeout
    while output(process).count(text) < count and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    printed = output(process)
    assert printed.count(text) >= count, f"expected {text!r} {count} times:\n{printed}"
    return printed


def start_redis(directory, port=None):
    with failing_with_output():
        return project_processes.start_redis_server(directory, port, timeout=20, launch=launch)


def spawn(project, *args, env):
    return launch([sys.executable if arg == "python" else arg for arg in args], project, env)


def start_uvicorn(project, env, port=None):
    """The bake in `project` under uvicorn with the project's socket options; returns (process, address)."""
    port = port or free_port()
    app = f"{next(project.glob('*/asgi.py')).parent.name}.asgi:application"
    with failing_with_output():
        return project_processes.start_uvicorn(app, port, project, env, timeout=20, launch=launch), f"127.0.0.1:{port}"


def start_gunicorn(project, env, workers=2, port=None):
    """gunicorn with the baked deploy/gunicorn.conf.py on a free loopback port; returns (process, address)
    once every worker has started its application."""
    port = port or free_port()
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        # Otherwise every gunicorn of this user shares one control socket path (~/.gunicorn/gunicorn.ctl).
        "GUNICORN_CMD_ARGS": "--no-control-socket",
    }
    process = spawn(project, "python", "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", env=env)
    read_until(process, "Application startup complete", count=workers)
    return wait_for_port(process, port, "gunicorn"), f"127.0.0.1:{port}"


NGINX_MAIN = """\
daemon off;
user root;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{}}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
"""


def render_nginx_site(site, port, upstream, static_root):
    """The baked deploy/nginx.conf with its EDIT lines pointed at this machine's ports and folders."""
    rendered = (
        site.replace("listen 80;", f"listen 127.0.0.1:{port};")
        .replace("listen [::]:80;\n", "")
        .replace("server 127.0.0.1:8000;", f"server {upstream};")
    )
    rendered, aliases = re.subn(r"alias \S+/staticfiles/;", f"alias {static_root}/;", rendered)
    assert aliases == 1 and f"listen 127.0.0.1:{port};" in rendered and f"server {upstream};" in rendered
    return rendered


def render_nginx_main(main, prefix):
    """The baked deploy/nginx-main.conf (the /etc/nginx/nginx.conf it ships) run under the private `prefix`
    folder in the foreground: its paths moved there and its sites-enabled/ include pointed at site.conf. Every
    other line, the connection limits among them, stays as shipped."""
    replacements = {
        "user www-data;": "daemon off;\nuser root;",
        "pid /run/nginx.pid;": f"pid {prefix}/nginx.pid;",
        "error_log /var/log/nginx/error.log;": f"error_log {prefix}/error.log;",
        # Module paths are relative to the prefix; the site needs none of them.
        "include /etc/nginx/modules-enabled/*.conf;": "",
        "access_log /var/log/nginx/access.log;": "access_log off;",
        "include /etc/nginx/conf.d/*.conf;": "".join(
            f"{kind}_temp_path {prefix}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        "include /etc/nginx/sites-enabled/*;": f"include {prefix}/site.conf;",
    }
    for shipped, here in replacements.items():
        assert main.count(shipped) == 1, f"deploy/nginx-main.conf no longer has {shipped!r}"
        main = main.replace(shipped, here)
    return main


def start_nginx(site_conf, prefix, main=None):
    """The real nginx serving `site_conf` (a server block, as in deploy/), under a private prefix folder;
    `main`: the main configuration (render_nginx_main), else a minimal one with nginx's default limits."""
    nginx = shutil.which("nginx") or next(filter(os.path.exists, ["/usr/sbin/nginx"]), None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "site.conf").write_text(site_conf)
    (prefix / "nginx.conf").write_text(main or NGINX_MAIN.format(prefix=prefix))
    port = int(re.search(r"listen 127\.0\.0\.1:(\d+);", site_conf).group(1))
    process = launch([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], prefix)
    return wait_for_port(process, port, "nginx")


def start_redis_with(directory, args, url, timeout=20):
    """redis-server with extra `args` (a unix socket, a password, TLS...) working in `directory`; returns the
    process once a client answers on `url` (any form redis-py takes), or fails the test with its output."""
    import redis

    server = shutil.which("redis-server")
    if server is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("redis-server is not installed")
    process = launch([server, "--save", "", "--appendonly", "no", *args], directory)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) as client:
                client.ping()
            return process
        except (redis.RedisError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server {' '.join(args)} did not answer on {url}:\n{stop(process)}")
            time.sleep(0.05)
