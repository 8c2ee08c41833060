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


def wait_for_port(process, port, what, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = stop(process)
                pytest.fail(f"{what} did not start on port {port}:\n{output}")
            time.sleep(0.05)


def stop(process):
    """Terminate a process started here (if still running) and return its output."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout else ""


def read_until(process, text, count=1, timeout=30):
    """Read a running process's output until `text` has appeared `count` times; return what was read."""
    timer = threading.Timer(timeout, process.terminate)
    timer.start()
    lines = []
    try:
        for line in iter(process.stdout.readline, ""):
            lines.append(line)
            if sum(text in seen for seen in lines) >= count:
                break
    finally:
        timer.cancel()
    output = "".join(lines)
    assert output.count(text) >= count, f"expected {text!r} {count} times:\n{output}"
    return output


def start_redis(directory, port=None):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return wait_for_port(process, port, "redis-server"), f"redis://127.0.0.1:{port}/0"


def spawn(project, *args, env):
    return subprocess.Popen(
        [sys.executable if arg == "python" else arg for arg in args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def start_uvicorn(project, env, port=None):
    port = port or free_port()
    slug = next(project.glob("*/asgi.py")).parent.name
    process = spawn(project, "python", "-m", "uvicorn", f"{slug}.asgi:application", "--port", str(port), env=env)
    return wait_for_port(process, port, "uvicorn"), f"127.0.0.1:{port}"


def start_gunicorn(project, env, workers=2, port=None):
    """gunicorn with the baked deploy/gunicorn.conf.py on a free loopback port; returns once every worker
    has started its application, with (process, address, what it printed so far)."""
    port = port or free_port()
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        # Otherwise every gunicorn of this user shares one control socket path (~/.gunicorn/gunicorn.ctl).
        "GUNICORN_CMD_ARGS": "--no-control-socket",
    }
    process = spawn(project, "python", "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", env=env)
    output = read_until(process, "Application startup complete", count=workers)
    return wait_for_port(process, port, "gunicorn"), f"127.0.0.1:{port}", output


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
    process = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return wait_for_port(process, port, "nginx")
