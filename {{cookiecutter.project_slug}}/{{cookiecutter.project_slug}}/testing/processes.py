"""Real processes for tests: a free loopback port, a private redis-server or PostgreSQL server, uvicorn with this
project's options.

Plain Python with no Django import and no template variable: the cookiecutter template's own suite and
benchmarks load this very file, so each starter is written once.
"""

import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"


def _load_server_module():
    """The project's server.py, by path: this file is also loaded on its own, outside the project package."""
    spec = importlib.util.spec_from_file_location("project_server", Path(__file__).resolve().parents[1] / "server.py")
    assert spec is not None and spec.loader is not None  # a .py file that exists always has both
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The uvicorn options of every server command of the project (server.py).
SERVER_OPTIONS = _load_server_module().uvicorn_args()


class StartFailed(RuntimeError):
    """A process did not start; `process` (killed by then) is the one that failed, if it was launched."""

    def __init__(self, message, process=None):
        super().__init__(message)
        self.process = process


class MissingProgram(StartFailed):
    """The program to start is not installed."""


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def launch(args, cwd, env=None, log=None, **popen):
    """Popen with the output appended to the file `log` (a path), or discarded without one."""
    if log is None:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, **popen)
    with open(log, "a") as output:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, **popen)


def wait_for_port(process, port, what, timeout=20):
    """Return `process` once HOST:port accepts a connection; if it exits first or time runs out, kill it and
    raise StartFailed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise StartFailed(f"{what} did not start on port {port}", process) from None
            time.sleep(0.05)


def start_redis_server(directory, port=None, timeout=10, launch=launch, password="", **launch_options):
    """A redis-server on a free loopback port (or `port`), without persistence, working in `directory`, asking for
    `password` if given; returns (process, url) once it accepts connections. `launch` and `launch_options`: how to
    start the process."""
    server = shutil.which("redis-server")
    if server is None:
        raise MissingProgram("redis-server is not on the PATH (Debian: apt-get install redis-server)")
    port = port or free_port()
    command = [server, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    if password:
        command += ["--requirepass", password]
    process = launch(command, directory, **launch_options)
    userinfo = f":{password}@" if password else ""
    return wait_for_port(process, port, "redis-server", timeout), f"redis://{userinfo}{HOST}:{port}/0"


def start_redis_sentinel(directory, master_port, name="mymaster", password="", master_password="", timeout=10):
    """A Redis Sentinel (redis-server --sentinel) on a free loopback port, working in `directory`, that monitors
    the Redis on HOST:`master_port` as `name` (quorum 1; `master_password`: that Redis's password) and has its
    own `password` if given; returns (process, port) once it accepts connections."""
    server = shutil.which("redis-server")
    if server is None:
        raise MissingProgram("redis-server is not on the PATH (Debian: apt-get install redis-server)")
    port = free_port()
    lines = [f"port {port}", f"bind {HOST}", f"dir {directory}", f"sentinel monitor {name} {HOST} {master_port} 1"]
    if master_password:
        lines.append(f"sentinel auth-pass {name} {master_password}")
    if password:
        lines.append(f"requirepass {password}")
    conf = Path(directory) / "sentinel.conf"  # the sentinel rewrites it with what it learns
    conf.write_text("\n".join(lines) + "\n")
    process = launch([server, str(conf), "--sentinel"], directory)
    return wait_for_port(process, port, "redis-server --sentinel", timeout), port


def postgresql_programs():
    """The folder of PostgreSQL's server programs (initdb, postgres): Debian keeps them off the PATH, in
    /usr/lib/postgresql/VERSION/bin (the newest version wins), or wherever `pg_config --bindir` says."""
    candidates = []
    initdb, pg_config = shutil.which("initdb"), shutil.which("pg_config")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)  # /usr/local/bin/initdb may be a link into the folder
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
        candidates.append(Path(bindir))
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda path: [int(n) for n in re.findall(r"\d+", path.parent.name)])[::-1]
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "postgres", "pg_isready")):
            return folder
    raise MissingProgram("PostgreSQL's initdb and postgres are not installed (Debian: apt-get install postgresql)")


def postgresql_user():
    """The Popen options that run PostgreSQL: none for a normal user; as root (PostgreSQL refuses to run as root)
    the `postgres` user Debian's package creates, else `nobody`."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise MissingProgram("running as root, and there is no postgres or nobody user to run PostgreSQL as")


def postgresql_data(directory):
    """The data folder of the PostgreSQL cluster that belongs to `directory`, made on first use (empty, owned by
    the user that runs PostgreSQL). As root it is a private folder under the system temp dir, linked from
    `directory`/data: pytest's temp folders are closed to other users. remove_postgresql_data() deletes it."""
    link = Path(directory) / "data"
    if link.exists():
        return link.resolve()
    user = postgresql_user()
    if not user:
        link.mkdir(mode=0o700)
        return link
    data = Path(tempfile.mkdtemp(prefix="postgresql-"))  # mode 0700
    os.chown(data, user["user"], user["group"])
    link.symlink_to(data)
    return data


def start_postgresql_server(directory, port=None, timeout=30, launch=launch, **launch_options):
    """A PostgreSQL server on a free loopback port (or `port`), its cluster in `directory` (initdb on the first
    call; a later call with the same `directory` starts the same data again), its unix socket in the data folder;
    returns (process, url) once it answers. The URL names the `postgres` superuser (no password: trust, on
    127.0.0.1 only) and database. Tuned for tests: nothing is flushed to disk (fsync off), so a crash of the
    machine loses the cluster. `launch` and `launch_options`: how to start the process. Stop it with
    stop_postgresql_server(), then remove_postgresql_data(directory)."""
    programs = postgresql_programs()
    user = postgresql_user()
    data = postgresql_data(directory)
    if not (data / "PG_VERSION").exists():
        initdb = [programs / "initdb", "--pgdata", data, "--username", "postgres", "--auth", "trust"]
        initdb += ["--encoding", "UTF8", "--no-locale", "--no-sync"]
        # As another user, the working folder must be one that user may enter.
        done = subprocess.run(initdb, cwd=data, capture_output=True, text=True, timeout=120, **user)
        if done.returncode != 0:
            raise StartFailed(f"initdb failed in {data}:\n{done.stdout}{done.stderr}")
    port = port or free_port()
    # The unix socket goes in the data folder, unless its path would pass the 107 bytes a socket path may have.
    sockets = data if len(str(data)) < 80 else ""
    command = [programs / "postgres", "-D", data, "-k", sockets, "-p", str(port), "-c", f"listen_addresses={HOST}"]
    command += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    process = launch([str(arg) for arg in command], data, **launch_options, **user)
    deadline = time.monotonic() + timeout
    wait_for_port(process, port, "postgres", timeout)
    # The port opens before the server takes sessions ("the database system is starting up"): ask until it does.
    ready = [programs / "pg_isready", "--host", HOST, "--port", str(port), "--username", "postgres", "--timeout", "2"]
    try:
        while subprocess.run(ready, capture_output=True, timeout=10).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise StartFailed(f"postgres did not take sessions on port {port}", process)
            time.sleep(0.05)
    except BaseException:
        stop_postgresql_server(process)  # never left running behind a failed start
        raise
    return process, f"postgres://postgres@{HOST}:{port}/postgres"


def stop_postgresql_server(process, timeout=10):
    """Fast shutdown (SIGINT: open sessions are ended, where SIGTERM would wait for them), then SIGKILL if it has
    not ended within `timeout` s; True if it ended on SIGINT."""
    return stop(process, timeout, signal.SIGINT)


def remove_postgresql_data(directory):
    """Delete the cluster of `directory` (stop its server first), and the private folder it was in as root."""
    link = Path(directory) / "data"
    if link.is_symlink():
        shutil.rmtree(link.resolve(), ignore_errors=True)
        link.unlink()
    else:
        shutil.rmtree(link, ignore_errors=True)


def start_uvicorn(app, port, cwd, env=None, timeout=30, launch=launch, **launch_options):
    """`python -m uvicorn app` with SERVER_OPTIONS on HOST:port; returns the process once it answers."""
    command = [sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(port), *SERVER_OPTIONS]
    return wait_for_port(launch(command, cwd, env, **launch_options), port, "uvicorn", timeout)


def stop(process, timeout=10, signal_number=signal.SIGTERM):
    """`signal_number` (SIGTERM), then SIGKILL if it has not ended within `timeout` s; True if it ended on the
    first."""
    if process.poll() is not None:
        return True
    process.send_signal(signal_number)
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False


def resident_kb(pid):
    """The resident memory (VmRSS) of the process `pid`, in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")
