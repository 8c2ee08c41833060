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

Run: make speed   (or, from the repository's root: .venv/bin/python -m benchmarks.speed [--quick] [--devloop]
[--json PATH])

One module per concern: `clients` (the load-generating client processes), `servers` (the server commands),
`bake` (the bake with the tutorial app), `echo`, `fanout`, `held`, `bake_time` (the measurements), `report`
(the table), `__main__` (the order they run in, the options).
"""
