"""Speed benchmark: what the baked project costs at run time, next to a bare ASGI app and tutorial-style consumers.

Bakes the default project, adds a `bench_tutorial` app to the bake (the Channels docs' consumers: an echo, a
JSON echo and the tutorial's chat), migrates, and measures over real WebSockets on loopback with the
`websockets` asyncio client on uvloop (load spread over client processes). The servers run on the interpreter `--python`
names (default: this one; `--python 3.13` runs them in the environment the template suite makes from a bake's
uv.lock, build/venvs/py3.13, tests/support/pythons.py); the clients always run here. The report's first and
last lines say which Python and Django the servers ran.

What a figure costs the server is read from the kernel's accounting of its processes (`cpu`: utime + stime in
/proc/<pid>/stat of the server and every descendant, e.g. gunicorn's workers, before and after each measured
phase), and so is what the client processes spent: msgs/s and latency measure the client as much as the server
when both share the machine's cores, so each run prints how busy the server and each client process were (share
of one core), and a client near 100% means msgs/s measures the client. Each server runs with a `gc.callbacks`
hook on its PYTHONPATH (`gc_pauses`, a `sitecustomize.py` in a temp dir, enabled by SPEED_GC_LOG; the bake is
unchanged) that logs every full (generation 2) collection's pause, in wall time and in CPU time.

1. echo: C connections x R round trips each (send, await the reply, repeat) on /ws/echo/ and /ws/echo-json/
   of the dev command (the "uvicorn (debug)" configuration, DEBUG off), the tutorial echoes in the same
   server, a one-file bare ASGI echo app under the same command, and /ws/echo/ of the prod command (gunicorn,
   one worker): msgs/s, p50 and p99 round-trip latency, server and client CPU µs per round trip (from the
   moment every socket is open to the last reply: opening and closing stay out), the server's full GCs.
2. fan-out: N listeners in one chat room, one sender sends M messages, paced (message k+1 is sent once
   every listener got message k, or no delivery of k arrived for 1 s): deliveries/s (delivered / time from
   the first send to the last delivery), p50/p99 delivery latency (send time embedded in the text), lost,
   server CPU µs per delivery (and the redis-server's on Redis), client CPU (listener processes and the
   sender), the server's full GCs and the longest one's pause. Project ChatConsumer and tutorial chat,
   in-memory layer and channels-redis (a private redis-server). At 1,000 listeners a run is long enough for
   several full collections (they set the p99 of longer runs).
3. held connections: server RSS (VmRSS) before and after opening H idle sockets to /ws/echo/, per socket (1 run).
4. bake time: B bakes (`python -m cookiecutter --no-input`) of the template and of a one-file template.
5. with --devloop: benchmarks/devloop.py's cold start and edit-to-live, through its own functions (medians).

Echo and fan-out repeat --repeats times (default 5, --quick 2), interleaved: each repeat runs every target
once (A, B, C, A, B, C...), so a change of the machine's load hits all of them. Prints each run's figures as
they come and each target's median [min-max], then a table: figure, the bake's median [min-max], the
reference's, their ratio run by run (the i-th runs of both are paired), the target, and a verdict: "met" when
every run meets the target, "MISSED" when none does, "spread too wide" when the runs fall on both sides, "too
few runs" under 3 (lost messages: any loss in any run is a miss). Targets (issue 20, and bake time's): server
CPU per echo message <= 1.25x bare ASGI's (JSON echo 1.4x); per fan-out delivery <= 0.4x the tutorial chat's; at
1,000 listeners fan-out p99 <= 0.3x the tutorial's and the longest full GC pause <= 10 ms; memory per idle socket
<= 1.25x bare ASGI's; bake time <= 1.5x the one-file template's. Writes every run's figures to --json (default
build/speed.json). The CPU figures count in clock ticks (10 ms; each run prints its server's count); latency,
rates and pauses are wall-clock and move with the machine's load, hence the spreads.

Run: make speed   (or, from the repository's root: .venv/bin/python -m benchmarks.speed [--quick] [--devloop]
[--repeats N] [--python 3.13] [--json PATH]). --quick (about 30 s on an idle machine) is the one to iterate with.

One module per concern: `clients` (the load-generating client processes, the measured phase), `servers` (the
server commands), `cpu` (process CPU accounting), `gc_pauses` (the full-collection hook), `bake` (the bake with
the tutorial app), `echo`, `fanout`, `held`, `bake_time` (the measurements), `report` (spreads, verdicts, the
table), `__main__` (the order they run in, the options).
"""
