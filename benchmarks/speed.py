"""Speed benchmark: what the baked project costs at run time, next to a bare ASGI app and tutorial-style consumers.

Bakes the default project, adds a `bench_tutorial` app to the bake (the Channels docs' consumers: an echo, a
JSON echo and the tutorial's chat), migrates, and measures over real WebSockets on loopback with the
`websockets` asyncio client (load spread over client processes):

1. echo: C connections x R round trips each (send, await the reply, repeat) on /ws/echo/ and /ws/echo-json/
   of the dev command (the "uvicorn (debug)" configuration, DEBUG off), the tutorial echoes in the same
   server, a one-file bare ASGI echo app under the same command, and /ws/echo/ of the prod command (gunicorn,
   one worker):
   msgs/s (round trips / wall time), p50 and p99 round-trip latency; median of --repeats interleaved runs.
2. fan-out: N listeners in one chat room, one sender sends M messages, paced (message k+1 is sent once
   every listener got message k, or no delivery of k arrived for 1 s): deliveries/s (delivered / time from
   the first send to the last delivery), p50/p99 delivery latency (send time embedded in the text), lost.
   Project ChatConsumer and tutorial chat, in-memory layer and channels-redis (a private redis-server).
3. held connections: server RSS (VmRSS) before and after opening H idle sockets to /ws/echo/, per socket.
4. bake time: median of B bakes (`python -m cookiecutter --no-input`) of the template and of a one-file template.
5. with --devloop: benchmarks/devloop.py's cold start and edit-to-live, through its own functions.

Prints the raw figures as they come, then a table (figure, baked, reference, ratio, target, verdict), and
writes every figure to --json (default build/speed.json). Figures are wall-clock: they depend on the load.

Run: make speed   (or: .venv/bin/python benchmarks/speed.py [--quick] [--devloop] [--json PATH])
"""

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import devloop  # the dev-loop benchmark beside this file: its bare app, free_port and server polling
import redis
from cookiecutter.main import cookiecutter
from websockets.asyncio.client import connect
from websockets.sync.client import connect as sync_connect

TEMPLATE_DIR = devloop.TEMPLATE_DIR
ORIGIN = devloop.ORIGIN
CLIENT_PROCESSES = 2
RECV_TIMEOUT = 10  # seconds for any one reply
STALL = 1.0  # fan-out: a message counts as fully delivered (or lost) after this long without a delivery
EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?\w*(?:Error|Exception)\b.*$", re.MULTILINE)  # a traceback's last line
MP = multiprocessing.get_context("spawn")  # children start clean, whatever the parent holds

TUTORIAL_CONSUMERS = '''\
"""The Channels documentation's consumers, for comparison with the project's own."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer


class TutorialEcho(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


class TutorialJsonEcho(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=json.dumps(json.loads(text_data)))


class TutorialChat(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        message = json.loads(text_data)["message"]
        await self.channel_layer.group_send(self.room_group_name, {"type": "chat.message", "message": message})

    async def chat_message(self, event):
        await self.send(text_data=json.dumps({"message": event["message"]}))
'''

TUTORIAL_ROUTING = """\
from django.urls import path, re_path

from . import consumers

websocket_urlpatterns = [
    path("ws/tutorial-echo/", consumers.TutorialEcho.as_asgi()),
    path("ws/tutorial-echo-json/", consumers.TutorialJsonEcho.as_asgi()),
    re_path(r"ws/tutorial-chat/(?P<room_name>\\w+)/$", consumers.TutorialChat.as_asgi()),
]
"""

FULL = {"connections": 50, "messages": 200, "listeners": [200, 1000], "sent": 20, "held": 5000, "bakes": 5}
QUICK = {"connections": 10, "messages": 20, "listeners": [50], "sent": 5, "held": 500, "bakes": 2}


# ---------------------------------------------------------------- helpers


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def milliseconds(seconds):
    return None if seconds is None else 1000 * seconds


def split(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def say(text):
    print(text, flush=True)


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def check(self, step):
        if time.monotonic() > self.end:
            raise SystemExit(f"overall deadline passed before {step}")


# ---------------------------------------------------------------- servers


class Server:
    """A server subprocess on a free port, its output in a log file; stop() terminates, then kills."""

    def __init__(self, name, args, cwd, env, logs):
        self.name, self.port = name, devloop.free_port()
        self.args = [arg.replace("{port}", str(self.port)) for arg in args]
        self.cwd, self.env, self.log = cwd, env, logs / f"{name}.log"
        self.process = None

    def start(self, ready=True):
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.args, cwd=self.cwd, env=self.env, stdout=log, stderr=log)
        if ready:
            devloop.wait_for_reply(self.port, "ping", "ping", self.process, timeout=60)
        return self

    def url(self, path):
        return f"ws://127.0.0.1:{self.port}{path}"

    def rss_kb(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {self.name}")

    def problems(self):
        """{exception line: count} of the tracebacks in the server's output."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return dict(collections.Counter(EXCEPTION_LINE.findall(text)))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def server_env(redis_url=""):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", REDIS_URL=redis_url)
    return env


def dev_args(project):
    """The project's "uvicorn (debug)" PyCharm configuration: its dev command without reload, on {port}."""
    config = next(c for c in devloop.pycharm_configs(project) if c.name == "uvicorn (debug)")
    args = [sys.executable, *config.args]
    args[args.index("--port") + 1] = "{port}"
    return args


def dev_server(name, project, logs, redis_url=""):
    return Server(name, dev_args(project), project, server_env(redis_url), logs)


def prod_server(project, logs):
    args = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    server = Server("prod", args, project, server_env(), logs)
    server.env.update(
        WEB_CONCURRENCY="1", GUNICORN_BIND=f"127.0.0.1:{server.port}", GUNICORN_CMD_ARGS="--no-control-socket"
    )
    return server


def bare_server(folder, project, logs, name="bare"):
    """The one-file echo app under the project's dev command: the same uvicorn options."""
    folder.mkdir(exist_ok=True)
    (folder / "bare_echo.py").write_text(devloop.BARE_APP.format(prefix=""))
    args = ["bare_echo:app" if arg.endswith(".asgi:application") else arg for arg in dev_args(project)]
    return Server(name, args, folder, server_env(), logs)


def redis_server(logs):
    args = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = Server("redis", args, logs, dict(os.environ), logs).start(ready=False)
    client = redis.Redis(host="127.0.0.1", port=server.port, socket_connect_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            return server
        except redis.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("redis-server did not start")


# ---------------------------------------------------------------- the baked project


def bake(tmp):
    project = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp)))
    app = project / "bench_tutorial"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "consumers.py").write_text(TUTORIAL_CONSUMERS)
    (app / "routing.py").write_text(TUTORIAL_ROUTING)
    settings = project / project.name / "settings.py"
    text = settings.read_text()
    assert '\n    "tasks",\n' in text, "PROJECT_APPS changed: update benchmarks/speed.py"
    settings.write_text(text.replace('\n    "tasks",\n', '\n    "tasks",\n    "bench_tutorial",\n', 1))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=project, env=server_env(), check=True
    )
    return project


# ---------------------------------------------------------------- client processes


def run_clients(target, args_list, timeout):
    """Run target(*args) in one process per args; return their results (exceptions are re-raised here)."""
    results = MP.Queue()
    processes = [MP.Process(target=_client, args=(target, args, results)) for args in args_list]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=timeout) for _ in processes]
    finally:
        stop_clients(processes)
    check_outcomes(outcomes, "client")
    return outcomes


def _client(target, args, results):
    try:
        results.put(asyncio.run(target(*args)))
    except BaseException as error:  # reported by the parent
        results.put(f"{type(error).__name__}: {error}")


async def open_sockets(url, count, concurrency=100):
    gate = asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            return await connect(url, origin=ORIGIN, proxy=None, open_timeout=30, close_timeout=2)

    opened = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    sockets = [ws for ws in opened if not isinstance(ws, BaseException)]
    errors = [f"{type(e).__name__}: {e}" for e in opened if isinstance(e, BaseException)]
    return sockets, errors


async def close_sockets(sockets):
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


async def wait_barrier(barrier, timeout=120):
    await asyncio.to_thread(barrier.wait, timeout)


# ---------------------------------------------------------------- 1. echo


async def echo_client(url, connections, messages, barrier):
    sockets, errors = await open_sockets(url, connections)
    if errors:
        await close_sockets(sockets)
        raise RuntimeError(f"{len(errors)} sockets failed to open, e.g. {errors[0]}")
    latencies, wrong = [], 0

    async def round_trips(ws):
        nonlocal wrong
        for n in range(messages):
            payload = json.dumps({"n": n, "text": "hello"})
            started = time.monotonic()
            await ws.send(payload)
            reply = await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
            latencies.append(time.monotonic() - started)
            wrong += reply != payload

    try:
        await wait_barrier(barrier)
        started = time.monotonic()
        await asyncio.gather(*(round_trips(ws) for ws in sockets))
        finished = time.monotonic()
    finally:
        await close_sockets(sockets)
    return {"started": started, "finished": finished, "latencies": latencies, "wrong": wrong}


def warm_up(url, round_trips=50):
    with sync_connect(url, origin=ORIGIN, proxy=None, open_timeout=10) as ws:
        for _ in range(round_trips):
            ws.send('{"warm": true}')
            ws.recv(timeout=RECV_TIMEOUT)


def measure_echo(url, connections, messages):
    barrier = MP.Barrier(CLIENT_PROCESSES)
    args = [(url, share, messages, barrier) for share in split(connections, CLIENT_PROCESSES)]
    results = run_clients(echo_client, args, timeout=300)
    latencies = [latency for result in results for latency in result["latencies"]]
    wall = max(r["finished"] for r in results) - min(r["started"] for r in results)
    return {
        "msgs_per_s": len(latencies) / wall,
        "p50_ms": milliseconds(percentile(latencies, 0.5)),
        "p99_ms": milliseconds(percentile(latencies, 0.99)),
        "round_trips": len(latencies),
        "wrong_replies": sum(r["wrong"] for r in results),
    }


def echo_benchmark(targets, sizes, repeats, deadline):
    """targets: {name: url}. Runs are interleaved (each repeat runs every target) so load drifts hit all."""
    for url in targets.values():
        warm_up(url)
    runs = {name: [] for name in targets}
    for repeat in range(repeats):
        for name, url in targets.items():
            deadline.check(f"echo {name}")
            result = measure_echo(url, sizes["connections"], sizes["messages"])
            runs[name].append(result)
            say(
                f"  echo {name:<22} run {repeat + 1}: {result['msgs_per_s']:8.0f} msgs/s  p50 {result['p50_ms']:6.2f}"
                f" ms  p99 {result['p99_ms']:6.2f} ms  ({result['round_trips']} round trips,"
                f" {result['wrong_replies']} wrong)"
            )
    return {name: {**median_of(results), "runs": results} for name, results in runs.items()}


def median_of(results):
    return {key: statistics.median(r[key] for r in results) for key in ("msgs_per_s", "p50_ms", "p99_ms")}


# ---------------------------------------------------------------- 2. fan-out


async def fanout_listener(url, listeners, sent, process_index, counts, opened, barrier, done):
    """Hold `listeners` sockets in the room; count deliveries of each message k in counts[process_index, k]."""
    sockets, errors = await open_sockets(url, listeners, concurrency=50)
    opened[process_index] = len(sockets)
    latencies, unexpected = [], []
    offset = process_index * sent

    async def listen(ws):
        received = 0
        while received < sent:
            try:
                text = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                if done.is_set():
                    return
                continue
            arrived = time.monotonic()
            message = json.loads(text).get("message")
            if not isinstance(message, str):
                unexpected.append(text[:200])
                continue
            k, sent_at = message.split()
            latencies.append(arrived - float(sent_at))
            counts[offset + int(k)] += 1
            received += 1

    try:
        await wait_barrier(barrier)
        ended = await asyncio.gather(*(listen(ws) for ws in sockets), return_exceptions=True)
    finally:
        await close_sockets(sockets)
    failures = [f"{type(e).__name__}: {e}" for e in ended if isinstance(e, BaseException)]
    return {
        "latencies": latencies,
        "opened": len(sockets),
        "open_errors": errors[:3],
        "unexpected": unexpected[:3],
        "listener_failures": failures[:3],
        "listeners_failed": len(failures),
    }


async def send_paced(url, listeners, sent, counts, max_wait):
    """Send `sent` chat messages; each waits until delivered to every listener (or a STALL without progress)."""
    async with connect(url, origin=ORIGIN, proxy=None, open_timeout=30, close_timeout=2) as ws:
        drain = asyncio.create_task(drain_socket(ws))  # the sender is in the room too
        started = last_delivery = time.monotonic()
        for k in range(sent):
            await ws.send(json.dumps({"message": f"{k} {time.monotonic()!r}"}))
            last_delivery = await wait_delivered(k, listeners, sent, counts, max_wait) or last_delivery
        drain.cancel()
    return last_delivery - started


async def drain_socket(ws):
    async for _ in ws:
        pass


async def wait_delivered(k, listeners, sent, counts, max_wait):
    """Poll the shared counters of message k; return the time its last delivery was seen."""
    seen, seen_at, give_up = 0, None, time.monotonic() + max_wait
    progress_at = time.monotonic()
    while time.monotonic() < give_up:
        total = sum(counts[p * sent + k] for p in range(CLIENT_PROCESSES))
        if total > seen:
            seen, seen_at = total, time.monotonic()
            progress_at = seen_at
        if seen >= listeners or time.monotonic() - progress_at > STALL:
            break
        await asyncio.sleep(0.001)
    return seen_at


def stop_clients(processes, event=None):
    """Set the event the client processes wait on (if any), then join them (terminating any that hang)."""
    if event is not None:
        event.set()
    for process in processes:
        process.join(timeout=15)
        if process.is_alive():
            process.terminate()
            process.join(timeout=10)


def check_outcomes(outcomes, what):
    """A client process reports an error as a string: stop the benchmark with it."""
    failed = [o for o in outcomes if isinstance(o, str)]
    if failed:
        raise SystemExit(f"a {what} process failed: {failed[0]}")


def measure_fanout(url, listeners, sent):
    counts = MP.Array("i", CLIENT_PROCESSES * sent, lock=False)  # deliveries of message k, per listener process
    opened = MP.Array("i", CLIENT_PROCESSES, lock=False)  # sockets each listener process got into the room
    barrier, done, results = MP.Barrier(CLIENT_PROCESSES + 1), MP.Event(), MP.Queue()
    shares = split(listeners, CLIENT_PROCESSES)
    processes = [
        MP.Process(
            target=_client,
            args=(fanout_listener, (url, share, sent, i, counts, opened, barrier, done), results),
            daemon=True,
        )
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(180)  # every listener is connected, hence in the group
        elapsed = asyncio.run(send_paced(url, sum(opened), sent, counts, max_wait=30))
        done.set()
        outcomes = [results.get(timeout=60) for _ in processes]
    finally:
        stop_clients(processes, done)
    check_outcomes(outcomes, "listener")
    latencies = [latency for o in outcomes for latency in o["latencies"]]
    return {
        "deliveries_per_s": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": milliseconds(percentile(latencies, 0.5)),
        "p99_ms": milliseconds(percentile(latencies, 0.99)),
        "delivered": len(latencies),
        "expected": listeners * sent,
        "lost": listeners * sent - len(latencies),
        "lost_on_sockets_that_failed_to_open": (listeners - sum(opened)) * sent,
        "listeners_opened": sum(opened),
        "open_errors": [e for o in outcomes for e in o["open_errors"]],
        "unexpected_frames": [u for o in outcomes for u in o["unexpected"]],
        "listeners_failed": sum(o["listeners_failed"] for o in outcomes),
        "listener_failures": [f for o in outcomes for f in o["listener_failures"]],
        "seconds": elapsed,
    }


def fanout_benchmark(servers, sizes, deadline):
    """servers: {layer: Server}. Project and tutorial chat, each N, each layer; a fresh room per run."""
    results = {}
    for layer, server in servers.items():
        for listeners in sizes["listeners"]:
            for consumer, path in [("project", "/ws/chat/{room}/"), ("tutorial", "/ws/tutorial-chat/{room}/")]:
                deadline.check(f"fan-out {consumer} {layer} {listeners}")
                room = f"bench_{consumer}_{listeners}"
                result = measure_fanout(server.url(path.format(room=room)), listeners, sizes["sent"])
                results[f"{consumer} {layer} N={listeners}"] = result
                say_fanout(f"{consumer:<8} {layer:<6} N={listeners:<5}", result)
    return results


def say_fanout(label, result):
    say(
        f"  fan-out {label} {result['deliveries_per_s']:8.0f} deliveries/s  p50 {number(result['p50_ms'], 1):>7} ms"
        f"  p99 {number(result['p99_ms'], 1):>7} ms  lost {result['lost']}/{result['expected']}"
        f" ({result['lost_on_sockets_that_failed_to_open']} on sockets that failed to open)"
        f"  in the room {result['listeners_opened']}"
    )
    for key in ("open_errors", "unexpected_frames", "listener_failures"):
        if result[key]:
            say(f"    {key.replace('_', ' ')}: {result[key]}")


# ---------------------------------------------------------------- 3. held connections


async def hold_client(url, count, barrier, release):
    sockets, errors = await open_sockets(url, count)
    try:
        await wait_barrier(barrier, timeout=300)
        await asyncio.to_thread(release.wait, 300)
    finally:
        await close_sockets(sockets)
    return {"opened": len(sockets), "errors": errors[:3], "failed": len(errors)}


def measure_held(server, count):
    warm_up(server.url("/ws/echo/"))
    time.sleep(1)
    before = server.rss_kb()
    barrier, release, results = MP.Barrier(CLIENT_PROCESSES + 1), MP.Event(), MP.Queue()
    args = [(server.url("/ws/echo/"), share, barrier, release) for share in split(count, CLIENT_PROCESSES)]
    processes = [MP.Process(target=_client, args=(hold_client, a, results), daemon=True) for a in args]
    for process in processes:
        process.start()
    try:
        barrier.wait(300)
        time.sleep(2)  # let the server settle
        after = server.rss_kb()
        release.set()
        outcomes = [results.get(timeout=120) for _ in processes]
    finally:
        stop_clients(processes, release)
    check_outcomes(outcomes, "holding")
    opened = sum(o["opened"] for o in outcomes)
    return {
        "rss_before_kb": before,
        "rss_after_kb": after,
        "opened": opened,
        "failed": sum(o["failed"] for o in outcomes),
        "errors": [e for o in outcomes for e in o["errors"]],
        "kb_per_connection": (after - before) / opened if opened else None,
    }


# ---------------------------------------------------------------- 4. bake time


def one_file_template(folder):
    folder.mkdir()
    (folder / "cookiecutter.json").write_text(json.dumps({"name": "demo"}))
    (folder / "{{cookiecutter.name}}").mkdir()
    (folder / "{{cookiecutter.name}}" / "README.md").write_text("# {{ cookiecutter.name }}\n")
    return folder


def time_bake(template, output):
    started = time.monotonic()
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(output), str(template)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return time.monotonic() - started


def bake_benchmark(tmp, bakes):
    templates = {"template": TEMPLATE_DIR, "one-file": one_file_template(tmp / "one_file_template")}
    times = {name: [] for name in templates}
    for run in range(bakes):
        for name, template in templates.items():
            times[name].append(time_bake(template, tmp / f"bake-{name}-{run}"))
    for name, values in times.items():
        say(f"  bake {name:<9} " + " ".join(f"{v:.3f}" for v in values) + " s")
    return {name: {"median_s": statistics.median(values), "runs": values} for name, values in times.items()}


# ---------------------------------------------------------------- 5. dev loop (benchmarks/devloop.py)


def devloop_benchmark(tmp, starts=3, edits=5):
    project = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp / "devloop")))
    config = next(c for c in devloop.pycharm_configs(project) if c.name == "uvicorn (reload)")
    bare_dir = tmp / "devloop-bare"
    bare_dir.mkdir()
    bare_args = ["-m", "uvicorn", "bare_echo:app", "--reload", "--reload-dir", str(bare_dir), "--port", "0"]
    figures = {
        "project": devloop.measure(
            "project", devloop.Server(config.args, config.cwd), devloop.project_edit(project), starts, edits
        ),
        "bare": devloop.measure(
            "bare ASGI", devloop.Server(bare_args, bare_dir), devloop.bare_edit(bare_dir), starts, edits
        ),
    }
    return {who: {k: statistics.median(v) for k, v in f.items()} for who, f in figures.items()}


# ---------------------------------------------------------------- the table


def row(figure, baked, reference, target):
    text, meets = target
    ratio = baked / reference if baked is not None and reference else None
    verdict = "-" if meets is None else ("met" if baked is not None and meets(baked, ratio or 0) else "MISSED")
    return {
        "figure": figure,
        "baked": baked,
        "reference": reference,
        "ratio": ratio,
        "target": text,
        "verdict": verdict,
    }


def ratio_at_least(x):
    return f">= {x}x", lambda baked, ratio: ratio >= x


def ratio_at_most(x):
    return f"<= {x}x", lambda baked, ratio: ratio <= x


def value_at_most(x, unit):
    return f"<= {x} {unit}", lambda baked, ratio: baked <= x


INFO = ("info", None)


def table_rows(figures):
    echo, fanout, held, bake = figures["echo"], figures["fanout"], figures["held"], figures["bake"]
    bare, prod = echo["bare ASGI"], echo["prod /ws/echo/"]
    rows = []
    for name in ("project /ws/echo/", "project /ws/echo-json/"):
        rows.append(
            row(f"echo msgs/s {name} vs bare", echo[name]["msgs_per_s"], bare["msgs_per_s"], ratio_at_least(0.8))
        )
        rows.append(row(f"echo p99 ms {name} vs bare", echo[name]["p99_ms"], bare["p99_ms"], ratio_at_most(2)))
    for name, tutorial in [("project /ws/echo/", "tutorial echo"), ("project /ws/echo-json/", "tutorial json echo")]:
        rows.append(
            row(f"echo msgs/s {name} vs {tutorial}", echo[name]["msgs_per_s"], echo[tutorial]["msgs_per_s"], INFO)
        )
    rows.append(row("echo msgs/s prod /ws/echo/ vs bare", prod["msgs_per_s"], bare["msgs_per_s"], INFO))
    rows.append(row("echo p99 ms prod /ws/echo/ vs bare", prod["p99_ms"], bare["p99_ms"], INFO))
    for key, project in fanout.items():
        if key.startswith("project "):
            tutorial, label = fanout[key.replace("project", "tutorial", 1)], key.removeprefix("project ")
            rows.append(
                row(
                    f"fan-out deliveries/s {label} vs tutorial",
                    project["deliveries_per_s"],
                    tutorial["deliveries_per_s"],
                    ratio_at_least(2),
                )
            )
            rows.append(row(f"fan-out p99 ms {label} vs tutorial", project["p99_ms"], tutorial["p99_ms"], INFO))
            rows.append(
                row(
                    f"fan-out lost {label} (ref: tutorial lost)",
                    project["lost"],
                    tutorial["lost"],
                    value_at_most(0, "lost"),
                )
            )
    rows.append(
        row(
            f"held KB/connection at {held['project']['opened']} vs bare",
            held["project"]["kb_per_connection"],
            held["bare ASGI"]["kb_per_connection"],
            value_at_most(15, "KB"),
        )
    )
    rows.append(
        row(
            "bake time s vs one-file template",
            bake["template"]["median_s"],
            bake["one-file"]["median_s"],
            ratio_at_most(1.5),
        )
    )
    for name, target in devloop.TARGETS.items() if "devloop" in figures else ():
        project, bare_app = figures["devloop"]["project"][name], figures["devloop"]["bare"][name]
        rows.append(row(f"dev loop {name} s vs bare", project, bare_app, value_at_most(target, "s")))
    return rows


def print_table(rows):
    width = max(len(r["figure"]) for r in rows) + 2
    say("")
    say(f"{'figure':<{width}}{'baked':>10}{'reference':>11}{'ratio':>8}  {'target':<11}verdict")
    for r in rows:
        say(
            f"{r['figure']:<{width}}{number(r['baked']):>10}{number(r['reference']):>11}"
            f"{number(r['ratio'], 2, 'x'):>8}  {r['target']:<11}{r['verdict']}"
        )


def number(value, decimals=None, suffix=""):
    if value is None:
        return "-"
    if decimals is None:
        decimals = 0 if abs(value) >= 100 or float(value).is_integer() else 2
    return f"{value:.{decimals}f}{suffix}"


# ---------------------------------------------------------------- main


def raise_open_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def run(tmp, sizes, options, deadline, servers):
    """Every measurement, in order; `servers` collects what was started, for the caller to stop."""
    logs = tmp / "logs"
    logs.mkdir()

    def started(server):
        servers.append(server)
        return server.start()

    project = bake(tmp)
    figures = {"sizes": sizes}
    say(f"baked {project.name} (+ bench_tutorial) in {tmp}")

    say("1. echo round trips")
    dev, bare = started(dev_server("dev", project, logs)), started(bare_server(tmp / "bare", project, logs))
    prod = started(prod_server(project, logs))
    targets = {
        "bare ASGI": bare.url("/ws/echo/"),
        "project /ws/echo/": dev.url("/ws/echo/"),
        "project /ws/echo-json/": dev.url("/ws/echo-json/"),
        "tutorial echo": dev.url("/ws/tutorial-echo/"),
        "tutorial json echo": dev.url("/ws/tutorial-echo-json/"),
        "prod /ws/echo/": prod.url("/ws/echo/"),
    }
    figures["echo"] = echo_benchmark(targets, sizes, options.repeats, deadline)
    prod.stop()
    bare.stop()

    say("2. fan-out")
    redis_url = f"redis://127.0.0.1:{started_redis(servers, logs).port}/0"
    layers = {"memory": dev, "redis": started(dev_server("dev-redis", project, logs, redis_url))}
    figures["fanout"] = fanout_benchmark(layers, sizes, deadline)
    for server in layers.values():
        server.stop()

    say("3. held connections")
    figures["held"] = {}
    for name, make in [
        ("project", lambda: dev_server("held-dev", project, logs)),
        ("bare ASGI", lambda: bare_server(tmp / "bare", project, logs, "held-bare")),
    ]:
        deadline.check(f"held {name}")
        server = started(make())
        result = measure_held(server, sizes["held"])
        server.stop()
        figures["held"][name] = result
        say(
            f"  held {name:<10} RSS {result['rss_before_kb']} -> {result['rss_after_kb']} KB with {result['opened']}"
            f" sockets ({result['failed']} failed): {number(result['kb_per_connection'], 1)} KB each"
            + (f"  errors {result['errors']}" if result["errors"] else "")
        )

    say("4. bake time")
    deadline.check("bake time")
    figures["bake"] = bake_benchmark(tmp, sizes["bakes"])

    if options.devloop:
        say("5. dev loop (benchmarks/devloop.py)")
        deadline.check("dev loop")
        figures["devloop"] = devloop_benchmark(tmp, options.starts, options.edits)

    figures["server_log_problems"] = {s.name: problems for s in servers if (problems := s.problems())}
    return figures


def started_redis(servers, logs):
    server = redis_server(logs)
    servers.append(server)
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, for a smoke test")
    parser.add_argument("--devloop", action="store_true", help="also run benchmarks/devloop.py's measurement")
    parser.add_argument("--json", default="build/speed.json", help="where to write the figures")
    parser.add_argument("--repeats", type=int, default=None, help="echo runs per target (default 5, quick 1)")
    parser.add_argument("--starts", type=int, default=3, help="--devloop: cold starts per app")
    parser.add_argument("--edits", type=int, default=5, help="--devloop: edits per app")
    options = parser.parse_args()
    sizes = QUICK if options.quick else FULL
    options.repeats = options.repeats or (1 if options.quick else 5)
    deadline = Deadline(15 * 60 if options.quick else 50 * 60)

    limit = raise_open_file_limit()
    say(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f},"
        f" open files {limit}, sizes {sizes}"
    )
    servers = []
    with tempfile.TemporaryDirectory(prefix="speed-") as tmp:
        try:
            figures = run(Path(tmp), sizes, options, deadline, servers)
        finally:
            for server in servers:
                server.stop()
    for name, problems in figures["server_log_problems"].items():
        for line, count in problems.items():
            say(f"server log of {name}: {count} x {line}")
    figures["table"] = table_rows(figures)
    print_table(figures["table"])
    output = Path(options.json)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2, default=str))
    say(f"\nfigures written to {output}")


if __name__ == "__main__":
    main()
