"""Real server processes for the template's tests: redis-server, uvicorn, gunicorn, nginx, manage.py commands.

Each starter waits until its port answers and returns a Popen; `stop` ends one and returns what it printed.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from .conftest import free_port
from .run_configs import WS_MAX_SIZE


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


def wait_for_port(process, port, what, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{what} did not start on port {port}:\n{stop(process)}")
            time.sleep(0.05)


def stop(process):
    """Terminate a process started here (if still running) and return everything it printed."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
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
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    process = launch(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], directory
    )
    return wait_for_port(process, port, "redis-server"), f"redis://127.0.0.1:{port}/0"


def spawn(project, *args, env):
    return launch([sys.executable if arg == "python" else arg for arg in args], project, env)


# The socket limits of every server command a bake ships (run_configs checks each one for them).
SERVER_LIMITS = ["--ws-max-size", str(WS_MAX_SIZE), "--ws-per-message-deflate", "false"]


def start_uvicorn(project, env, port=None):
    port = port or free_port()
    slug = next(project.glob("*/asgi.py")).parent.name
    process = spawn(
        project, "python", "-m", "uvicorn", f"{slug}.asgi:application", "--port", str(port), *SERVER_LIMITS, env=env
    )
    return wait_for_port(process, port, "uvicorn"), f"127.0.0.1:{port}"


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


def start_nginx(site_conf, prefix):
    """The real nginx serving `site_conf` (a server block, as in deploy/), under a private prefix folder."""
    nginx = shutil.which("nginx") or next(filter(os.path.exists, ["/usr/sbin/nginx"]), None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "site.conf").write_text(site_conf)
    (prefix / "nginx.conf").write_text(NGINX_MAIN.format(prefix=prefix))
    port = int(re.search(r"listen 127\.0\.0\.1:(\d+);", site_conf).group(1))
    process = launch([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], prefix)
    return wait_for_port(process, port, "nginx")
