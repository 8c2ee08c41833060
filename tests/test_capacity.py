"""Thousands of sockets behind the shipped nginx: the baked deploy/nginx-main.conf (the /etc/nginx/nginx.conf a
deployment installs) and deploy/nginx.conf in front of gunicorn with deploy/gunicorn.conf.py, all real processes
on loopback. Debian's stock nginx.conf (768 connections per worker, two per proxied socket) fails near the
721st socket; the shipped limits carry 5,000.
"""

import asyncio
import resource

import pytest
import websockets

from .support.bakes import baked_env, run_in
from .support.processes import free_port, render_nginx_main, render_nginx_site, start_gunicorn, start_nginx, stop

SOCKETS = 5000
AT_ONCE = 200  # handshakes in flight at a time
DEADLINE = 240  # seconds for the whole load: a bound on hanging, not a speed requirement
PRODUCTION = {"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1"}


@pytest.fixture
def open_files():
    """This process (and what it starts) may hold a file per socket and then some."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 3 * SOCKETS
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the open-files hard limit is {hard}; this test needs {needed}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def open_many(address, count):
    """Open `count` sockets to /ws/echo/, AT_ONCE at a time; returns (open sockets, errors)."""
    gate = asyncio.Semaphore(AT_ONCE)
    sockets, errors = [], []

    async def one():
        async with gate:
            try:
                sockets.append(
                    await websockets.connect(
                        f"ws://{address}/ws/echo/",
                        origin=f"http://{address}",
                        open_timeout=60,
                        ping_interval=None,
                        compression=None,
                    )
                )
            except (OSError, websockets.WebSocketException, TimeoutError) as error:
                errors.append(repr(error))

    await asyncio.gather(*(one() for _ in range(count)))
    return sockets, errors


async def load(address):
    sockets, errors = await open_many(address, SOCKETS)
    try:
        # Every 50th socket still answers while all are open.
        for index, socket in enumerate(sockets[::50]):
            await socket.send(f"ping {index}")
            assert await asyncio.wait_for(socket.recv(), 30) == f"ping {index}"
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    return len(sockets), errors


@pytest.mark.nginx
def test_5000_sockets_through_the_shipped_nginx_and_gunicorn(cookies_session, open_files, tmp_path):
    project = cookies_session.bake().project_path
    env = baked_env(**PRODUCTION, REDIS_URL="")
    run_in(project, "python", "manage.py", "migrate", "--verbosity", "0", env=env)
    gunicorn, upstream = start_gunicorn(project, env, workers=2)
    port = free_port()
    prefix = tmp_path / "nginx"
    site = render_nginx_site((project / "deploy/nginx.conf").read_text(), port, upstream, project / "staticfiles")
    main = render_nginx_main((project / "deploy/nginx-main.conf").read_text(), prefix)
    # nginx raises its open-files limit itself where it may (root with CAP_SYS_RESOURCE, as under systemd); a
    # container's root may not go past the hard limit it was given, so there the shipped value is capped to it.
    shipped = int(main.split("worker_rlimit_nofile", 1)[1].split(";")[0])
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < shipped:
        main = main.replace(f"worker_rlimit_nofile {shipped};", f"worker_rlimit_nofile {hard};")
    nginx = start_nginx(site, prefix, main=main)
    try:
        opened, errors = asyncio.run(asyncio.wait_for(load(f"127.0.0.1:{port}"), DEADLINE))
    finally:
        stop(nginx)
        gunicorn_output = stop(gunicorn)
    nginx_errors = (prefix / "error.log").read_text()
    assert opened == SOCKETS, f"{SOCKETS - opened} sockets failed, e.g. {errors[:3]}\n{nginx_errors[-2000:]}"
    assert "worker_connections are not enough" not in nginx_errors
    assert "[emerg]" not in nginx_errors and "[alert]" not in nginx_errors, nginx_errors[-2000:]
    assert "Traceback" not in gunicorn_output.split("Handling signal: term")[0], gunicorn_output[-3000:]


def test_the_shipped_limits_are_set_where_nginx_reads_them(cookies_session):
    """worker_connections and worker_rlimit_nofile are main-file directives (a site file in sites-enabled/ is
    included inside http {}, where nginx refuses them): they are in deploy/nginx-main.conf, not the site."""
    project = cookies_session.bake().project_path
    main = (project / "deploy/nginx-main.conf").read_text()
    site = (project / "deploy/nginx.conf").read_text()
    connections = int(main.split("worker_connections", 1)[1].split(";")[0])
    files = int(main.split("worker_rlimit_nofile", 1)[1].split(";")[0])
    assert connections >= 2 * SOCKETS and files >= connections
    assert "worker_connections" not in site and "worker_rlimit_nofile" not in site
    assert "include /etc/nginx/sites-enabled/*;" in main  # the site is still picked up
