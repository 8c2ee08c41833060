"""Scale-out across separate hosts, built on this machine with Linux network namespaces.

Each host is a network namespace with one interface (eth0) on a bridge in a further namespace (the switch), in a
private /24 of 10.231.0.0/16 that exists only inside the namespaces this test makes; the root namespace (where
the test's clients run) joins the bridge as .1. Redis runs on one host, the bake's gunicorn (deploy/gunicorn.conf.py,
uvicorn workers) on two web hosts, `manage.py runworker tasks` and `manage.py notify` on a worker host, every
process with REDIS_URL naming the Redis host. They share the bake's folder (and its SQLite file): only the
network is apart.

One walk through one set of processes (a chat message, a notification and a task's progress cross hosts; web host
A's link is cut and its pages carry on through web host B; the link returns and A serves again, not restarted).

The pages' reconnect logic is emulated in Python (FailoverPage): socket.js reopens a dropped socket on the page's
own host only, so in front of several web hosts a balancer picks the host; FailoverPage plays page and balancer.
"""

import asyncio
import collections
import ipaddress
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time

import pytest
import websockets

from .support.bakes import bake_and_migrate, baked_env, run_in
from .support.processes import launch, read_until, stop

pytestmark = pytest.mark.redis

# Host number in the test's /24 of each namespace; the root namespace is .1.
HOSTS = {"redis": 2, "web-a": 11, "web-b": 12, "worker": 21}
SPACE = ipaddress.ip_network("10.231.0.0/16")  # private (RFC 1918); each run takes a free /24 of it
WEB_PORT, REDIS_PORT = 8000, 6379
USER = "hopper"
# Seconds. A socket over a cut link is noticed by the client's pings (browsers rely on TCP and the balancer);
# generous enough that a loaded machine never drops a socket of the host that stays up.
PING_INTERVAL, PING_TIMEOUT, OPEN_TIMEOUT = 1, 5, 10
OPEN_ATTEMPTS = 8  # per (re)open, over the hosts in turn: socket.js's backoff, 0.25-10 s apart


def ip(*args, check=True):
    """Run `ip ARGS` (iproute2); returns the CompletedProcess."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=check)


def free_subnet():
    """The third byte of a 10.231.N.0/24 that holds no address of the root namespace and overlaps none of its
    routes narrower than SPACE (a wider one, such as 10.0.0.0/8, is fine: the test's /24 is more specific, so its
    packets stay on the test's link)."""
    taken = [ipaddress.ip_network(route["dst"]) for route in ip_json("route", "show", "table", "all")]
    taken = [network for network in taken if network.prefixlen >= SPACE.prefixlen]
    for link in ip_json("addr", "show"):
        for address in link.get("addr_info", []):
            taken.append(ipaddress.ip_network(address["local"]))
    start = os.getpid() % 254
    for step in range(254):
        candidate = ipaddress.ip_network(f"10.231.{(start + step) % 254 + 1}.0/24")
        if not any(candidate.overlaps(network) for network in taken):
            return candidate.network_address.packed[2]
    pytest.skip(f"every /24 of {SPACE} is in use on this machine")


def ip_json(*args):
    """`ip -json -4 ARGS`, parsed; "default" routes read as 0.0.0.0/0."""
    found = json.loads(ip("-json", "-4", *args).stdout or "[]")
    for entry in found:
        if entry.get("dst") == "default":
            entry["dst"] = "0.0.0.0/0"
    return found


class Network:
    """The namespaces and links of one test run, named after its pid; remove() deletes every one it made."""

    def __init__(self):
        self.tag = f"cch{os.getpid()}"  # interface names are at most 15 characters
        self.namespaces = []
        self.links = []
        self.subnet = free_subnet()

    def address(self, host):
        return f"10.231.{self.subnet}.{HOSTS[host] if host != 'root' else 1}"

    def namespace(self, host):
        return f"{self.tag}-{host}"

    def build(self):
        """The switch (a bridge), one namespace per host with eth0 on it, and the root namespace's link to it."""
        switch = self.add_namespace("switch")
        ip("-n", switch, "link", "add", "name", "br0", "type", "bridge")
        ip("-n", switch, "link", "set", "br0", "up")
        root_link = self.tag
        ip("link", "add", "name", root_link, "type", "veth", "peer", "name", "root", "netns", switch)
        self.links.append(root_link)
        ip("-n", switch, "link", "set", "root", "master", "br0", "up")
        ip("addr", "add", f"{self.address('root')}/24", "dev", root_link)
        ip("link", "set", root_link, "up")
        for host in HOSTS:
            namespace = self.add_namespace(host)
            ip("-n", namespace, "link", "add", "name", "eth0", "type", "veth", "peer", "name", host, "netns", switch)
            ip("-n", switch, "link", "set", host, "master", "br0", "up")
            ip("-n", namespace, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")

    def add_namespace(self, host):
        name = self.namespace(host)
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def set_link(self, host, state):
        """Take `host`'s eth0 "down" (its sockets' packets go nowhere, in or out) or "up" again."""
        ip("-n", self.namespace(host), "link", "set", "eth0", state)

    def remove(self):
        """Delete the root namespace's links, then the namespaces (and with them every link inside)."""
        for link in self.links:
            ip("link", "del", link, check=False)
        for name in reversed(self.namespaces):
            ip("netns", "del", name, check=False)
        listed = ip("netns", "list", check=False).stdout.split()
        left = [name for name in self.namespaces if name in listed]
        left += [link for link in self.links if ip("link", "show", link, check=False).returncode == 0]
        assert not left, f"left behind: {left}"


def require_namespaces():
    """Skip, saying why, unless this machine can make the hosts: root, iproute2, a network namespace with a veth
    pair and a bridge in it, and `ip netns exec`. A missing program fails the test in CI (.ci/run installs it)."""
    for program, package in [("ip", "iproute2"), ("redis-server", "redis-server")]:
        if shutil.which(program) is None:
            (pytest.fail if os.environ.get("CI") else pytest.skip)(
                f"{program} is not installed (apt-get install {package})"
            )
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns add)")
    probe = f"cch{os.getpid()}-probe"
    made = ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        pytest.skip(f"this machine cannot make network namespaces: ip netns add: {made.stderr.strip()}")
    try:
        for args in (
            ["-n", probe, "link", "add", "name", "probe0", "type", "veth", "peer", "name", "probe1"],
            ["-n", probe, "link", "add", "name", "br0", "type", "bridge"],
            ["netns", "exec", probe, "true"],
        ):
            done = ip(*args, check=False)
            if done.returncode != 0:
                pytest.skip(f"this machine cannot make the test's hosts: ip {' '.join(args)}: {done.stderr.strip()}")
    finally:
        ip("netns", "del", probe, check=False)


def wait_for(address, port, process, what, timeout=30):
    """Return once `address:port` accepts a connection from the root namespace; fail if `process` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{what} did not answer on {address}:{port}:\n{stop(process)}")
            time.sleep(0.1)


def in_namespace(network, host, args):
    """The command line that runs `args` on `host` ("python": this environment's Python, as run_in does)."""
    return [
        "ip",
        "netns",
        "exec",
        network.namespace(host),
        *(sys.executable if arg == "python" else arg for arg in args),
    ]


# A session for USER, as a page has after logging in: the pages' sockets authenticate with its cookie.
LOG_IN = f"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
User = get_user_model()
user = User.objects.filter(username={USER!r}).first() or User.objects.create_user({USER!r}, password="a long pw 42")
client = Client()
client.force_login(user)
print(settings.SESSION_COOKIE_NAME + "=" + client.cookies[settings.SESSION_COOKIE_NAME].value)
"""


class Hosts:
    """The running hosts: `web` (the two web hosts' addresses, A first), `cookie` (USER's session), `processes`
    (by host), `network`; run() runs a command on a host and waits for it."""

    def __init__(self, project, network, env, cookie, processes):
        self.project, self.network, self.env, self.cookie, self.processes = project, network, env, cookie, processes
        self.web = [f"{network.address(host)}:{WEB_PORT}" for host in ("web-a", "web-b")]

    def run(self, host, *args):
        return run_in(self.project, *in_namespace(self.network, host, args), env=self.env, timeout=60)


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake_and_migrate(cookies_session, channel_layer="redis")


@pytest.fixture
def hosts(project, tmp_path):
    """Redis, two web hosts and a worker host, each in its own network namespace, running; every process is
    stopped and every namespace and link deleted afterwards, whatever happened."""
    require_namespaces()
    network = Network()
    processes = {}
    try:
        network.build()
        web = ",".join(network.address(host) for host in ("web-a", "web-b"))
        # Redis on another host takes clients from other addresses only with a password (protected mode).
        password = secrets.token_urlsafe(16)
        redis_url = f"redis://:{password}@{network.address('redis')}:{REDIS_PORT}/0"
        env = baked_env(REDIS_URL=redis_url, DJANGO_ALLOWED_HOSTS=web)

        def start(host, *args, cwd=project, **extra):
            processes[host] = launch(in_namespace(network, host, args), cwd, {**env, **extra})
            return processes[host]

        redis = start(
            "redis",
            "redis-server",
            "--bind",
            network.address("redis"),
            "--port",
            str(REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            password,
            cwd=tmp_path,
        )
        wait_for(network.address("redis"), REDIS_PORT, redis, "redis-server")
        cookie = run_in(project, "python", "manage.py", "shell", "-c", LOG_IN, env=env).stdout.strip().splitlines()[-1]
        for host in ("web-a", "web-b"):
            start(
                host,
                "python",
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                GUNICORN_BIND=f"{network.address(host)}:{WEB_PORT}",
                WEB_CONCURRENCY="1",
                # Open sockets get 2 s at the end of the test, not 30; no control socket shared with other runs.
                GUNICORN_GRACEFUL_TIMEOUT="2",
                GUNICORN_CMD_ARGS="--no-control-socket",
            )
        for host in ("web-a", "web-b"):
            read_until(processes[host], "Application startup complete")
            wait_for(network.address(host), WEB_PORT, processes[host], f"gunicorn on {host}")
        read_until(start("worker", "python", "manage.py", "runworker", "tasks"), "Running worker for channels")
        yield Hosts(project, network, env, cookie, processes)
    finally:
        for process in reversed(processes.values()):
            stop(process)
        network.remove()


class FailoverPage:
    """One page's socket, kept open as the site's socket.js keeps it, with the web hosts as fallbacks (emulated:
    see the module's docstring). `hosts`: addresses in the order a balancer tries them; a socket that drops is
    reopened on the next one after socket.js's backoff (0.5 s doubling to 10 s, with jitter), OPEN_ATTEMPTS at
    most. `kept`: it catches up as room.js and notifications.js do (?since=recent, then the last seq it got).
    `visits`: the host of each socket it opened."""

    def __init__(self, hosts, path, cookie, kept=False):
        self.hosts = collections.deque(hosts)
        self.path, self.cookie, self.kept = path, cookie, kept
        self.since = "recent"
        self.socket = None
        self.visits = []

    async def open(self, reopening=False):
        for attempt in range(OPEN_ATTEMPTS):
            if reopening or attempt:
                await asyncio.sleep(min(10, 0.5 * 2**attempt) * (0.5 + random.random() / 2))
            address = self.hosts[0]
            url = f"ws://{address}{self.path}" + (f"?since={self.since}" if self.kept else "")
            try:
                self.socket = await websockets.connect(
                    url,
                    origin=f"http://{address}",
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=OPEN_TIMEOUT,
                    ping_interval=PING_INTERVAL,
                    ping_timeout=PING_TIMEOUT,
                    close_timeout=1,
                )
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                self.hosts.rotate(-1)
                continue
            self.visits.append(address)
            return self
        raise AssertionError(f"no host of {list(self.hosts)} opened {self.path}")

    async def send(self, frame):
        await self.socket.send(json.dumps(frame))

    async def next(self, condition, timeout=30):
        """The first frame that satisfies `condition` (others are skipped); a socket that drops meanwhile is
        reopened on the next host. A socket closed as not logged in (4401) fails, as socket.js stops there."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    frame = json.loads(await self.socket.recv())
                except websockets.ConnectionClosed as closed:
                    assert closed.rcvd is None or closed.rcvd.code != 4401, f"{self.path}: not logged in"
                    await self.failover()
                    continue
                if isinstance(frame.get("seq"), int):
                    self.since = frame["seq"]
                elif isinstance(frame.get("caught_up"), int):
                    self.since = frame["caught_up"]
                if condition(frame):
                    return frame

    async def dropped(self, timeout=30):
        """Wait until the socket drops (its pings go unanswered), then reopen it on the next host."""
        try:
            await asyncio.wait_for(self.socket.wait_closed(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.path} on {self.hosts[0]} still open {timeout} s after its link was cut"
            ) from None
        await self.failover()

    async def failover(self):
        self.hosts.rotate(-1)
        await self.open(reopening=True)

    async def close(self):
        if self.socket is not None:
            await self.socket.close()


ROOM, INBOX, TASKS = "/ws/chat/hosts/", "/ws/notifications/", "/ws/tasks/"


def says(text):
    return lambda frame: frame.get("message") == text


def mentions(text):
    return lambda frame: text in json.dumps(frame)


def caught_up(frame):
    return "caught_up" in frame


async def walk(hosts):
    """The scenario; returns the pages it opened, by name."""
    a, b = hosts.web
    pages = {}

    async def page(name, path, order, kept=False):
        pages[name] = await FailoverPage(order, path, hosts.cookie, kept).open()
        if kept:  # joined its group and sent what it had: from here on nothing live is missed
            await pages[name].next(caught_up)
        return pages[name]

    async def notify(text):
        # manage.py notify, run on the worker host.
        await asyncio.to_thread(hosts.run, "worker", "python", "manage.py", "notify", "--user", USER, text)

    async def run_task(starter, watchers):
        # The worker host runs it; its progress reaches every watcher, on whichever web host.
        await starter.send({"start": {"steps": 2}})
        task = (await starter.next(lambda frame: frame.get("status") == "queued"))["task"]
        for watcher in watchers:
            done = await watcher.next(lambda frame: frame.get("task") == task and frame.get("status") == "done")
            assert done["step"] == 2

    try:
        # 1. Both web hosts up: a chat message, a notification and a task's progress cross hosts.
        room_a, room_b = await page("room_a", ROOM, [a, b], kept=True), await page("room_b", ROOM, [b, a], kept=True)
        inbox_a = await page("inbox_a", INBOX, [a, b], kept=True)
        inbox_b = await page("inbox_b", INBOX, [b, a], kept=True)
        tasks_a, tasks_b = await page("tasks_a", TASKS, [a, b]), await page("tasks_b", TASKS, [b, a])
        await room_b.send({"message": "via B"})
        await room_a.next(says("via B"))
        await notify("from the worker host")
        for inbox in (inbox_a, inbox_b):
            await inbox.next(mentions("from the worker host"))
        await run_task(tasks_b, [tasks_a, tasks_b])

        # 2. Web host A's link is cut: its pages move to B, catch up on what they missed, and carry on there.
        hosts.network.set_link("web-a", "down")
        await room_b.send({"message": "while A is cut"})
        await notify("while A is cut")
        await asyncio.gather(*(moved.dropped() for moved in (room_a, inbox_a, tasks_a)))
        # Sent before these sockets reopened on B: B's catch-up sends it, and nothing they had already (?since=).
        for moved in (room_a, inbox_a):
            caught = await moved.next(lambda frame: "message" in frame)
            assert caught["message"] == "while A is cut", f"{moved.path} caught up with {caught}"
        await room_a.send({"message": "from A's page, now on B"})
        await room_b.next(says("from A's page, now on B"))
        await run_task(tasks_a, [tasks_a, tasks_b])

        # 3. The link returns: A serves again (new pages on A only), unrestarted.
        hosts.network.set_link("web-a", "up")
        back = await page("room_back", ROOM, [a], kept=True)
        await room_b.send({"message": "A is back"})
        await back.next(says("A is back"), timeout=60)
        await back.send({"message": "from A again"})
        for listener in (room_b, room_a):
            await listener.next(says("from A again"))
        inbox_back = await page("inbox_back", INBOX, [a], kept=True)
        await notify("to A again")
        for inbox in (inbox_back, inbox_a, inbox_b):
            await inbox.next(mentions("to A again"))
        tasks_back = await page("tasks_back", TASKS, [a])
        await run_task(tasks_back, [tasks_back, tasks_b])
        return pages
    finally:
        for opened in pages.values():
            await opened.close()


def test_web_hosts_share_rooms_and_pages_move_to_the_other_when_one_is_cut_off(hosts):
    a, b = hosts.web
    pages = asyncio.run(walk(hosts))
    for name in ("room_a", "inbox_a", "tasks_a"):
        assert pages[name].visits == [a, b], f"{name} opened on {pages[name].visits}"
    for name in ("room_b", "inbox_b", "tasks_b"):
        assert pages[name].visits == [b], f"{name} left B: {pages[name].visits}"
    web_a = hosts.processes["web-a"]
    assert web_a.poll() is None and read_until(web_a, "Booting worker").count("Booting worker") == 1, "A restarted"
    # Workers, web hosts, then Redis: stopped before the processes that use it, it would make them log.
    outputs = {host: stop(hosts.processes[host]) for host in reversed(list(hosts.processes))}
    for host, output in outputs.items():
        assert "Traceback" not in output, f"{host}:\n{output}"
