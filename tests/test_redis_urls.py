"""Every REDIS_URL form works end to end against a real redis-server, and the deploy check passes exactly when the
layer works: redis:// with a password and a database, rediss:// (TLS on loopback, certificates made here),
unix:// with a password and a database, and several URLs (sharding)."""

import asyncio
import json
import shutil
import subprocess
import sys

import pytest
import redis
import websockets

from .support.bakes import bake_and_migrate, baked_env
from .support.processes import free_port, start_redis_with, start_uvicorn, stop

pytestmark = pytest.mark.redis
PASSWORD = "s3cret-pw"
WRONG_PASSWORD = "not-the-pw-xyz"
ROOMS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"]
# Fixed, so that the sharded form spreads these rooms over both hosts the same way in every run.
PREFIX = "urls-test"


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session, channel_layer="redis")


def certificates(directory):
    """A CA and a certificate for 127.0.0.1 signed by it: (ca, certificate, key) paths."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=ca",
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=x")
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.cnf",
    )  # fmt: skip
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


@pytest.fixture(params=["redis-password-db", "rediss-tls", "unix-password-db", "sharded"])
def redis_form(request, tmp_path):
    """(REDIS_URL, [(url of one host, database the layer must write to)], the URL with a wrong password)."""
    servers = []
    try:
        if request.param == "redis-password-db":
            port = free_port()
            url = f"redis://:{PASSWORD}@127.0.0.1:{port}/5"
            servers.append(
                start_redis_with(tmp_path, ["--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD], url)
            )
            yield url, [url], url.replace(PASSWORD, WRONG_PASSWORD)
        elif request.param == "rediss-tls":
            ca, cert, key = certificates(tmp_path)
            port = free_port()
            url = f"rediss://127.0.0.1:{port}/2?ssl_ca_certs={ca}&ssl_cert_reqs=required"
            args = ["--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--tls-cert-file", str(cert)]
            args += ["--tls-key-file", str(key), "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"]
            servers.append(start_redis_with(tmp_path, args, url))
            # The same server without the CA: the certificate cannot be verified.
            yield url, [url], f"rediss://127.0.0.1:{port}/2?ssl_cert_reqs=required"
        elif request.param == "unix-password-db":
            path = tmp_path / "redis.sock"
            url = f"unix://:{PASSWORD}@{path}?db=3"
            args = ["--port", "0", "--unixsocket", str(path), "--unixsocketperm", "700", "--requirepass", PASSWORD]
            servers.append(start_redis_with(tmp_path, args, url))
            yield url, [url], url.replace(PASSWORD, WRONG_PASSWORD)
        else:
            urls = []
            for _ in range(2):
                port = free_port()
                urls.append(f"redis://127.0.0.1:{port}/0")
                servers.append(start_redis_with(tmp_path, ["--port", str(port), "--bind", "127.0.0.1"], urls[-1]))
            yield ",".join(urls), urls, f"{urls[0]},redis://127.0.0.1:{free_port()}/0"
    finally:
        for server in servers:
            stop(server)


def deploy_check(project, url):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "channel_layers"],
        cwd=project,
        env=baked_env(REDIS_URL=url, CHANNEL_LAYER_PREFIX=PREFIX),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def chat_in_every_room(address, hosts):
    """Two sockets per room; one speaks, both must hear. Returns what they heard and, while they are still open
    (so their groups exist), how many keys each host holds in the database its URL names."""
    heard, rooms = [], []
    try:
        for room in ROOMS:
            rooms.append(
                [await websockets.connect(f"ws://{address}/ws/chat/{room}/", origin=f"http://{address}") for _ in "ab"]
            )
            await rooms[-1][0].send(json.dumps({"message": f"hello {room}"}))
            heard += [json.loads(await asyncio.wait_for(ws.recv(), 10))["message"] for ws in rooms[-1]]
        return heard, [database_keys(host) for host in hosts]
    finally:
        for sockets in rooms:
            for ws in sockets:
                await ws.close()


def database_keys(url):
    with redis.Redis.from_url(url, socket_timeout=5) as client:
        return client.dbsize()


def test_each_url_form_passes_the_check_and_carries_chat(project, redis_form):
    url, hosts, wrong = redis_form
    checked = deploy_check(project, url)
    assert checked.returncode == 0 and "channel_layers.E001" not in checked.stderr, checked.stderr
    server, address = start_uvicorn(project, baked_env(REDIS_URL=url, CHANNEL_LAYER_PREFIX=PREFIX))
    try:
        heard, keys = asyncio.run(chat_in_every_room(address, hosts))
    finally:
        output = stop(server)
    assert heard == [f"hello {room}" for room in ROOMS for _ in range(2)], output
    assert "Traceback" not in output and "Not ready" not in output, output
    # Each host got its share of the groups, in the database its URL names.
    assert all(count > 0 for count in keys), dict(zip(hosts, keys, strict=True))


def test_the_check_fails_where_the_layer_would(project, redis_form):
    url, hosts, wrong = redis_form
    checked = deploy_check(project, wrong)
    assert checked.returncode == 1 and "channel_layers.E001" in checked.stderr, checked.stderr
    assert "Traceback" not in checked.stderr and WRONG_PASSWORD not in checked.stderr
