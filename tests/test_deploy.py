"""The baked deployment files: production settings, nginx in front of gunicorn, systemd, Docker.

There is no Docker engine here: the Dockerfile and compose.yaml are checked for what can be checked without
one (they parse, name only services and files that exist, and run commands the project has).
"""

import asyncio
import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
import websockets
import yaml

from .support.bakes import baked_env, load_hook, run_in
from .support.processes import free_port, render_nginx_site, start_gunicorn, start_nginx, stop
from .support.run_configs import WS_MAX_SIZE

PRODUCTION = {"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "example.org,localhost,127.0.0.1"}


@pytest.fixture(scope="module")
def project(cookies_session):
    return cookies_session.bake().project_path


@pytest.fixture(scope="module")
def django_commands(project):
    return set(run_in(project, "python", "manage.py", "help", "--commands").stdout.split())


def test_production_settings_pass_the_deploy_checks(project):
    run_in(project, "python", "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=baked_env(**PRODUCTION))


def test_development_settings_do_not_pass_them(project):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=project,
        env=baked_env(DJANGO_DEBUG="true"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "security.W018" in result.stderr


def manage_commands(command):
    """The `manage.py X` subcommands named in a shell command line."""
    words = shlex.split(command) if isinstance(command, str) else command
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == "manage.py"]


def test_compose_names_only_services_and_files_that_exist(project, django_commands):
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "jobs", "redis", "nginx"}
    for name, service in services.items():
        for needed in service.get("depends_on", []):
            assert needed in services, f"{name} depends on unknown {needed}"
        if "network_mode" in service:
            assert service["network_mode"].removeprefix("service:") in services
        if service.get("build") == ".":
            assert (project / "Dockerfile").is_file()
            assert (project / service["env_file"]).is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (project / source).is_file(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} mounts undeclared volume {source}"
        command = " ".join(service.get("command", []))
        for subcommand in manage_commands(shlex.split(command.replace("&&", " "))):
            assert subcommand in django_commands
        for config in re.findall(r"gunicorn -c (\S+)", command):
            assert (project / config).is_file()
    assert "gunicorn -c deploy/gunicorn.conf.py" in services["web"]["command"][-1]
    slug = project.name
    nginx_mount = next(v for v in services["nginx"]["volumes"] if v.startswith("static:"))
    assert nginx_mount.split(":")[1] == f"/srv/{slug}/staticfiles"


def test_dev_compose_publishes_redis_where_env_expects_it_on_loopback_only(project):
    """compose.dev.yaml: only the services development needs (Redis), each published on 127.0.0.1 only, Redis at
    the address .env.example, the hook's .env and the README give, with a health check (`up --wait` waits on it)."""
    compose = yaml.safe_load((project / "compose.dev.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis"}, f"{set(services)}: check here what a new service publishes"
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] == "CMD", name
        for port in service.get("ports", []):  # HOST_IP:HOST_PORT:CONTAINER_PORT; no HOST_IP is every address
            assert port.count(":") == 2 and port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond 127.0.0.1"
        # Data kept across restarts lives in a named volume, so `docker compose down` keeps it.
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose.get("volumes", {}), f"{name} mounts {volume}: not a named volume"

    redis_url = load_hook("post_gen_project").DEFAULT_REDIS_URL  # what a Redis bake's .env gets
    assert f"URL such as {redis_url}:" in (project / ".env.example").read_text()
    assert f"REDIS_URL={redis_url}|' .env" in (project / "README.md").read_text()
    url = urlsplit(redis_url)
    redis = services["redis"]
    expected = f"{url.hostname}:{url.port}:6379"  # redis-server's own port in the container: no --port below
    assert redis["ports"] == [expected] and "--port" not in redis["command"], f"{redis['ports']}, not {expected}"
    # What Redis saves (in /data) outlives the container only in a named volume (checked above); this one saves
    # nothing, the channel layer's messages and groups being short-lived.
    command = redis.get("command", [])
    saves = "--save" not in command or command[command.index("--save") + 1] != "" or "yes" in command
    assert not saves or any(v.split(":")[1:2] == ["/data"] for v in redis.get("volumes", [])), command
    production = yaml.safe_load((project / "compose.yaml").read_text())["services"]["redis"]
    assert redis["image"] == production["image"], "development and production run one Redis"


def test_dev_compose_comes_with_the_deploy_files(baked):
    _, context, project = baked
    assert (project / "compose.dev.yaml").is_file() == context.get("include_deploy", True)


def test_dockerfile_runs_the_projects_commands(project, django_commands, tmp_path):
    lines = (project / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    workdir = next(line.split()[1] for line in lines if line.startswith("WORKDIR"))
    assert workdir == f"/srv/{project.name}"
    assert f"alias {workdir}/staticfiles/;" in (project / "deploy/nginx.conf").read_text()
    cmd = json.loads(next(line for line in lines if line.startswith("CMD")).removeprefix("CMD"))
    assert cmd[:2] == ["gunicorn", "-c"] and (project / cmd[2]).is_file()
    run = next(line for line in lines if line.startswith("RUN")).removeprefix("RUN")
    for step in run.split("&&"):
        for subcommand in manage_commands(step):
            assert subcommand in django_commands
    assert ".env" in (project / ".dockerignore").read_text().split()
    # An image that never writes bytecode at run time must compile it at install, or every gunicorn worker,
    # runworker and manage.py compiles Django anew (0.7 s of CPU each).
    image_env = next(line for line in lines if line.startswith("ENV")).split()
    if "PYTHONDONTWRITEBYTECODE=1" in image_env:
        assert "UV_COMPILE_BYTECODE=1" in image_env, "the image compiles no bytecode"
    # The build's collectstatic step, run as the image runs it: without the (ignored) .env.
    copy = tmp_path / "image"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".env", "staticfiles"))
    collect = next(step for step in run.split("&&") if "collectstatic" in step).split()
    env = baked_env(**dict(word.split("=", 1) for word in collect if "=" in word))
    run_in(copy, *["python" if word == "python" else word for word in collect if "=" not in word], env=env)
    assert (copy / "staticfiles" / "chat" / "room.js").is_file()


def health_checks(project):
    """{where: argv} of the container health checks: the image's HEALTHCHECK and compose's web service's."""
    lines = (project / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    [healthcheck] = [line for line in lines if line.startswith("HEALTHCHECK")]
    options, _, command = healthcheck.removeprefix("HEALTHCHECK").partition(" CMD ")
    assert "--timeout=" in options and "--interval=" in options
    compose = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    test = compose["web"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return {"Dockerfile": json.loads(command), "compose.yaml": test[1:]}


def test_health_checks_call_the_probes_as_production_settings_answer_them(project, tmp_path):
    checks = health_checks(project)
    # The image's check asks whether the server is up; compose's, whether it can work (docs/deploy.md).
    assert [argv[-1] for argv in checks.values()] == ["/healthz", "/readyz"]
    for argv in checks.values():
        assert argv[0] == "python" and (project / argv[1]).is_file()
    # The other services built from the image run no HTTP server: the image's check must not apply to them.
    for name, service in yaml.safe_load((project / "compose.yaml").read_text())["services"].items():
        if service.get("build") == "." and name != "web":
            assert service["healthcheck"] == {"disable": True}, name

    # Run as the containers run them, against gunicorn with production settings whose DJANGO_ALLOWED_HOSTS names
    # only the public domain (the checks call 127.0.0.1, over plain http).
    env = baked_env(
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="example.org",
        DJANGO_SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        REDIS_URL="",
    )
    gunicorn, address = start_gunicorn(project, env, workers=1)
    env["GUNICORN_BIND"] = address
    try:
        for where, argv in checks.items():
            result = run_in(project, *argv, env=env, timeout=30)
            assert result.stdout.startswith("200 {"), f"{where}: {result.stdout}"
        # Exit code 0 means 200 from a probe: every other path is redirected to https there, and fails the check.
        other = subprocess.run(
            [sys.executable, checks["compose.yaml"][1], "/chat/"], cwd=project, env=env, capture_output=True, timeout=30
        )
        assert other.returncode == 1 and other.stdout.startswith(b"301 "), other.stdout
    finally:
        output = stop(gunicorn)
    assert "Invalid HTTP_HOST" not in output and "Traceback" not in output, output
    assert "/healthz" not in output and "/readyz" not in output, output  # gunicorn.conf.py keeps them out


@pytest.mark.parametrize("unit", ["web.service", "worker@.service", "jobs.service"])
def test_systemd_units_run_the_projects_commands(project, unit, django_commands):
    path = project / "deploy" / "systemd" / f"{project.name}-{unit}"
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(path.read_text())
    service = parser["Service"]
    assert service["WorkingDirectory"] == f"/srv/{project.name}"
    assert service["EnvironmentFile"] == f"/srv/{project.name}/.env"
    words = shlex.split(service["ExecStart"])
    assert words[0].startswith(f"/srv/{project.name}/.venv/bin/")
    for subcommand in manage_commands(words):
        assert subcommand in django_commands
    if "-c" in words:
        assert (project / words[words.index("-c") + 1]).is_file()
    if shutil.which("systemd-analyze"):
        result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True)
        assert "Unknown key" not in result.stderr and "Unknown section" not in result.stderr, result.stderr


def test_the_jobs_worker_is_restarted_for_as_long_as_its_database_is_away(project, postgresql_project):
    """db_worker exits with status 1 when it loses the database (tests/test_jobs.py); its supervisors must start
    it again, however long the database takes to come back: systemd without reaching its start limit, compose
    with a policy that never gives up."""
    path = project / "deploy" / "systemd" / f"{project.name}-jobs.service"
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(path.read_text())
    unit, service = parser["Unit"], parser["Service"]
    assert shlex.split(service["ExecStart"])[1:] == ["manage.py", "db_worker"]
    assert service["Restart"] in {"on-failure", "always"}
    interval, burst, pause = (
        int(value) for value in (unit["StartLimitIntervalSec"], unit["StartLimitBurst"], service["RestartSec"])
    )
    assert interval // pause + 1 < burst, "systemd would stop restarting the worker while the database is away"
    # The running jobs get time to finish on SIGTERM.
    assert int(service["TimeoutStopSec"]) >= 30 and service["KillMode"] == "mixed"
    for bake in (project, postgresql_project):
        jobs = yaml.safe_load((bake / "compose.yaml").read_text())["services"]["jobs"]
        assert jobs["command"] == ["python", "manage.py", "db_worker"], bake
        # "on-failure:N" would give up after N; "no" never restarts.
        assert jobs["restart"] in {"unless-stopped", "always"}, bake


@pytest.mark.nginx
@pytest.mark.redis
def test_nginx_in_front_of_gunicorn_serves_static_files_pages_and_sockets(project, redis_url, tmp_path):
    env = baked_env(**PRODUCTION, REDIS_URL=redis_url)
    run_in(project, "python", "manage.py", "migrate", "--verbosity", "0", env=env)
    run_in(project, "python", "manage.py", "collectstatic", "--noinput", "--verbosity", "0", env=env)
    gunicorn, upstream = start_gunicorn(project, env, workers=2)
    port = free_port()
    site = render_nginx_site((project / "deploy/nginx.conf").read_text(), port, upstream, project / "staticfiles")
    access_log = tmp_path / "access.log"
    assert site.count("access_log /var/log/nginx/access.log ") == 1
    site = site.replace("access_log /var/log/nginx/access.log ", f"access_log {access_log} ")
    nginx = start_nginx(site, tmp_path / "nginx")
    address = f"127.0.0.1:{port}"
    try:
        with urllib.request.urlopen(f"http://{address}/static/chat/room.js", timeout=5) as response:
            assert response.status == 200
            assert response.read() == (project / "chat/static/chat/room.js").read_bytes()
            assert "javascript" in response.headers["Content-Type"]
        # Pages reach Django, which sees plain http through the forwarded headers and sends browsers to https.
        request = urllib.request.Request(f"http://{address}/chat/lobby/")
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(NoRedirect).open(request, timeout=5)
        assert redirect.value.code == 301
        # nginx passes the Host as the browser sent it, port included (the Origin check compares it).
        assert redirect.value.headers["Location"] == f"https://{address}/chat/lobby/"

        async def chat():
            clients = [
                await websockets.connect(f"ws://{address}/ws/chat/lobby/", origin=f"http://{address}") for _ in range(4)
            ]
            await clients[0].send(json.dumps({"message": "through nginx"}))
            heard = [json.loads(await asyncio.wait_for(client.recv(), 5)) for client in clients]
            for client in clients:
                await client.close()
            return heard

        assert asyncio.run(chat()) == [{"message": "through nginx", "user": "anonymous"}] * 4

        # The probes through nginx: answered over plain http (no redirect to https), left out of its access log.
        for path, status in [("/healthz", "ok"), ("/readyz", "ready")]:
            with urllib.request.build_opener(NoRedirect).open(f"http://{address}{path}", timeout=10) as response:
                assert response.status == 200 and json.loads(response.read()) == {"status": status}

        async def oversized_frame(address):
            # gunicorn.conf.py's worker gives uvicorn the same limits as the project's uvicorn commands: no
            # compression (a browser offers it) and a frame limit.
            async with websockets.connect(f"ws://{address}/ws/echo/", origin=f"http://{address}") as ws:
                assert "Sec-WebSocket-Extensions" not in ws.response.headers, "the server agreed to compress"
                try:
                    await ws.send("x" * (WS_MAX_SIZE + 1))
                except websockets.ConnectionClosed:
                    pass  # closed while the frame was still going out
                await asyncio.wait_for(ws.wait_closed(), 5)
                return ws.close_code

        assert asyncio.run(oversized_frame(upstream)) == 1009
        # uvicorn closes as soon as it has read the frame's header, with the rest unread: the reset that
        # follows usually overtakes the close frame at nginx, so a client behind nginx mostly sees 1006.
        assert asyncio.run(oversized_frame(address)) in {1009, 1006}
        assert asyncio.run(chat()) == [{"message": "through nginx", "user": "anonymous"}] * 4
    finally:
        nginx_output = stop(nginx)
        gunicorn_output = stop(gunicorn)
    # (channels-redis may log a receive cut short by the shutdown itself: only the serving part must be clean)
    serving = gunicorn_output.split("Handling signal: term")[0]
    assert serving.count("Booting worker") == 2 and "Traceback" not in serving, gunicorn_output
    assert "[emerg]" not in nginx_output
    logged = access_log.read_text()
    assert "GET /chat/lobby/ " in logged and "healthz" not in logged and "readyz" not in logged, logged


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_gunicorn_with_several_workers_on_the_in_memory_layer_warns(project):
    gunicorn, _ = start_gunicorn(project, baked_env(**PRODUCTION, REDIS_URL=""), workers=2)
    output = stop(gunicorn)
    assert "channel_layers.W001" in output and "2 server processes" in output, output


def test_gunicorn_by_hand_reads_env_and_the_environment_wins(cookies_session):
    """`gunicorn -c deploy/gunicorn.conf.py` outside systemd and compose (which put .env in the environment)
    still takes GUNICORN_BIND, WEB_CONCURRENCY and FORWARDED_ALLOW_IPS from .env, as settings.py reads it: a
    variable set in the real environment wins over .env."""
    project = cookies_session.bake(extra_context={"editor": "none"}).project_path
    with (project / ".env").open("a") as env_file:
        env_file.write("GUNICORN_BIND=127.0.0.1:8765\nWEB_CONCURRENCY=3\nFORWARDED_ALLOW_IPS=127.0.0.1,::1,10.0.0.2\n")
    env = {k: v for k, v in baked_env(WEB_CONCURRENCY="1").items() if k not in ("GUNICORN_BIND", "FORWARDED_ALLOW_IPS")}
    printed = run_in(project, "python", "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--print-config", env=env)
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", printed.stdout, flags=re.MULTILINE))
    assert config["bind"] == "['127.0.0.1:8765']", printed.stdout
    assert config["workers"] == "1", printed.stdout  # the environment's, not .env's 3
    assert config["forwarded_allow_ips"] == "['127.0.0.1', '::1', '10.0.0.2']", printed.stdout


def test_gunicorn_takes_empty_variables_as_their_defaults(project):
    """GUNICORN_BIND= and FORWARDED_ALLOW_IPS= (a line of .env left empty) mean the default, as every variable of
    the settings does: an empty FORWARDED_ALLOW_IPS would believe no proxy, not even the local nginx, and every
    client would be 127.0.0.1, which no socket cap counts."""
    env = baked_env(WEB_CONCURRENCY="1", GUNICORN_BIND="", FORWARDED_ALLOW_IPS="")
    printed = run_in(project, "python", "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--print-config", env=env)
    config = dict(re.findall(r"^(\w+)\s+= (.*)$", printed.stdout, flags=re.MULTILINE))
    assert config["bind"] == "['127.0.0.1:8000']", printed.stdout
    assert config["forwarded_allow_ips"] == "['127.0.0.1', '::1']", printed.stdout


# The postgresql bake's compose files: its compose.yaml and compose.dev.yaml are whole files of their own
# (compose.postgresql.yaml and compose.dev.postgresql.yaml in the template, picked by the post-gen hook).
@pytest.fixture(scope="module")
def postgresql_project(cookies_session):
    result = cookies_session.bake(extra_context={"database": "postgresql", "editor": "none"})
    assert result.exit_code == 0, result.exception
    return result.project_path


def test_postgresql_compose_runs_a_db_service_that_web_and_worker_wait_for(postgresql_project):
    compose = yaml.safe_load((postgresql_project / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "jobs", "db", "redis", "nginx"}
    db = services["db"]
    assert db["image"].startswith("postgres:") and db["restart"] == "unless-stopped"
    environment = db["environment"]
    test = db["healthcheck"]["test"]
    assert (
        test[:2] == ["CMD", "pg_isready"]
        and environment["POSTGRES_USER"] in test
        and environment["POSTGRES_DB"] in test
    )
    # The data outlives the container in a named volume (`docker compose down` keeps it).
    [volume] = db["volumes"]
    assert volume.split(":")[1] == "/var/lib/postgresql/data" and volume.split(":")[0] in compose["volumes"]
    # The password is .env's POSTGRES_PASSWORD, never written here; compose refuses to start without it.
    assert environment["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    for name in ["web", "worker", "jobs"]:
        service = services[name]
        assert service["depends_on"]["db"] == {"condition": "service_healthy"}, name
        # As compose interpolates it: the db service's password, from .env.
        url = urlsplit(service["environment"]["DATABASE_URL"].replace(environment["POSTGRES_PASSWORD"], "pw"))
        assert (url.scheme, url.hostname, url.port) == ("postgres", "db", 5432), name
        assert url.username == environment["POSTGRES_USER"] and url.path == f"/{environment['POSTGRES_DB']}", name
        assert url.password == "pw", name
        assert "DJANGO_SQLITE_PATH" not in service["environment"], name


def without_database(compose):
    """A compose file's services and volumes without what tells SQLite from PostgreSQL: the db service and its
    volume, the web and worker services' database variables, volume and dependency."""
    services = {name: dict(service) for name, service in compose["services"].items() if name != "db"}
    for service in services.values():
        environment = service.get("environment", {})
        service["environment"] = {
            k: v for k, v in environment.items() if k not in {"DATABASE_URL", "DJANGO_SQLITE_PATH"}
        }
        if isinstance(service.get("depends_on"), dict):
            service["depends_on"] = {name: wait for name, wait in service["depends_on"].items() if name != "db"}
        service["volumes"] = [volume for volume in service.get("volumes", []) if not volume.startswith("data:")]
    volumes = {name for name in compose.get("volumes", {}) if name not in {"data", "postgres"}}
    return services, volumes


@pytest.mark.parametrize("name", ["compose.yaml", "compose.dev.yaml"])
def test_the_two_compose_variants_agree_apart_from_the_database(project, postgresql_project, name):
    sqlite = yaml.safe_load((project / name).read_text())
    postgresql = yaml.safe_load((postgresql_project / name).read_text())
    assert "db" not in sqlite["services"] and "db" in postgresql["services"]
    assert without_database(sqlite) == without_database(postgresql)
    if name == "compose.yaml":
        # .env's DATABASE_URL names the development machine's database, unreachable from a container: the SQLite
        # file sets it empty, so the volume's db.sqlite3 is used even when .env names PostgreSQL.
        django_services = [
            service for service in sqlite["services"].values() if "DJANGO_SQLITE_PATH" in service.get("environment", {})
        ]
        assert django_services and all(service["environment"]["DATABASE_URL"] == "" for service in django_services)


def test_postgresql_dev_compose_publishes_the_database_on_loopback_only(postgresql_project):
    compose = yaml.safe_load((postgresql_project / "compose.dev.yaml").read_text())
    db = compose["services"]["db"]
    assert db["image"] == yaml.safe_load((postgresql_project / "compose.yaml").read_text())["services"]["db"]["image"]
    assert db["ports"] == ["127.0.0.1:5432:5432"] and db["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    [volume] = db["volumes"]
    assert volume.split(":")[0] in compose["volumes"], "the development data lives in a named volume"
