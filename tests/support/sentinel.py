"""A Redis Sentinel set of real Debian processes on free loopback ports: one master, one replica, three sentinels.

`sentinel_set(directory)` starts them, each in its own folder under `directory`, waits until every sentinel knows
the replica and the two other sentinels (so a failover can be voted), and stops every process it started when
the block ends, also when a start fails halfway. The sentinels react fast (DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS)
so that a test's failover takes seconds.
"""

import os
import shutil
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import pytest
import redis

from .processes import free_port, launch, start_redis_with, stop

HOST = "127.0.0.1"
MASTER_NAME = "mymaster"
QUORUM = 2  # of 3 sentinels
DOWN_AFTER_MS = 1000  # a master that has not answered for this long is down (subjectively, then by quorum)
FAILOVER_TIMEOUT_MS = 3000  # a failover that stalls is retried by another sentinel after this long
READY_SECONDS = 30  # how long the set may take to be ready for a failover


@dataclass
class SentinelSet:
    """The processes of a running set. `master` and `replica` are (process, port) as started; after a failover
    the sentinels' master is the replica (`current_master()`)."""

    master: tuple
    replica: tuple
    sentinels: list = field(default_factory=list)  # [(process, port)]
    password: str = ""
    name: str = MASTER_NAME

    @property
    def addresses(self):
        """REDIS_SENTINELS: host:port of each sentinel."""
        return ",".join(f"{HOST}:{port}" for _, port in self.sentinels)

    def env(self):
        """The settings that point a baked project at this set."""
        return {
            "REDIS_URL": "",
            "REDIS_SENTINELS": self.addresses,
            "REDIS_SENTINEL_MASTER": self.name,
            "REDIS_SENTINEL_MASTER_PASSWORD": self.password,
        }

    def master_state(self, port):
        """What the sentinel on `port` knows of the master (redis-py's parsed SENTINEL MASTER reply)."""
        with redis.Redis(HOST, port, socket_timeout=2, socket_connect_timeout=2, decode_responses=True) as client:
            return client.sentinel_master(self.name)

    def current_master(self):
        """The master's port as each sentinel that answers reports it (a set: one port when they agree)."""
        ports = set()
        for _, port in self.sentinels:
            try:
                ports.add(self.master_state(port)["port"])
            except (redis.RedisError, OSError):
                pass
        return ports

    def ready(self):
        """Whether every sentinel sees the master up, with its replica and the two other sentinels."""
        for _, port in self.sentinels:
            try:
                state = self.master_state(port)
            except (redis.RedisError, OSError):
                return False
            up = state["is_master"] and not (state["is_sdown"] or state["is_odown"])
            if not up or state["num-slaves"] < 1 or state["num-other-sentinels"] < 2:
                return False
        return True


SENTINEL_CONF = """\
port {port}
bind {host}
daemonize no
dir {directory}
sentinel monitor {name} {host} {master_port} {quorum}
sentinel down-after-milliseconds {name} {down_after}
sentinel failover-timeout {name} {failover_timeout}
sentinel parallel-syncs {name} 1
"""


def start_sentinel(directory, master_port, name=MASTER_NAME, quorum=QUORUM, master_password="", password=""):
    """A redis-sentinel working in `directory` (its configuration file goes there: the sentinel rewrites it with
    what it learns), watching the master on `master_port` as `name`; `master_password`: the master's
    `requirepass`; `password`: the sentinel's own. Returns (process, port) once it answers, or fails the test."""
    sentinel = shutil.which("redis-sentinel")
    if sentinel is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "redis-sentinel is not installed (Debian: redis-sentinel)"
        )
    port = free_port()
    conf = directory / "sentinel.conf"
    settings = dict(port=port, host=HOST, directory=directory, name=name, master_port=master_port, quorum=quorum)
    text = SENTINEL_CONF.format(**settings, down_after=DOWN_AFTER_MS, failover_timeout=FAILOVER_TIMEOUT_MS)
    if master_password:
        text += f"sentinel auth-pass {name} {master_password}\n"
    if password:
        text += f"requirepass {password}\n"
    conf.write_text(text)
    process = launch([sentinel, str(conf)], directory)
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            with redis.Redis(
                HOST, port, password=password or None, socket_timeout=1, socket_connect_timeout=1
            ) as client:
                client.ping()
            return process, port
        except (redis.RedisError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-sentinel did not answer on port {port}:\n{stop(process)}")
            time.sleep(0.05)


@contextmanager
def sentinel_set(directory, password="sentinel-test-pw"):
    """Yield a ready SentinelSet working in `directory`; every process it started is stopped on exit."""
    with ExitStack() as started:

        def start_server(name, *extra):
            port = free_port()
            folder = directory / name
            folder.mkdir()
            args = ["--port", str(port), "--bind", HOST, "--requirepass", password, "--masterauth", password, *extra]
            process = start_redis_with(folder, args, f"redis://:{password}@{HOST}:{port}/0")
            started.callback(stop, process)
            return process, port

        master = start_server("master")
        replica = start_server("replica", "--replicaof", HOST, str(master[1]))
        servers = SentinelSet(master, replica, password=password)
        for number in range(3):
            folder = directory / f"sentinel{number}"
            folder.mkdir()
            process, port = start_sentinel(folder, master[1], master_password=password)
            started.callback(stop, process)
            servers.sentinels.append((process, port))
        deadline = time.monotonic() + READY_SECONDS
        while not servers.ready():
            if time.monotonic() > deadline or any(process.poll() is not None for process, _ in servers.sentinels):
                logs = "\n".join("".join(process.lines[-20:]) for process, _ in servers.sentinels)
                pytest.fail(f"the sentinels did not see the master, the replica and each other:\n{logs}")
            time.sleep(0.2)
        yield servers
