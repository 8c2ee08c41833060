"""What the template suite (tests/) and the benchmarks (benchmarks/) share; no tests, no fixtures.

- `bakes.py`: the template's folder, the option combinations the suite bakes, running commands in a bake.
- `processes.py`: real processes (redis-server, uvicorn, gunicorn, nginx, manage.py), on top of the baked
  project's own starters (`<slug>/testing/processes.py`, loaded from the template).
- `dev_server.py`: a bake's server command as a real process, and a WebSocket client for it.
- `run_configs.py`: a bake's IDE run configurations read into command lines, and their checks.
- `upstream.py`, `upstream_plugin.py`: channels-redis's own tests, run against a layer class of a bake.
- `reconnecting.py`: a WebSocket client that reconnects and catches up as the baked pages do.
- `pythons.py`: the other interpreters a bake supports, each in a venv from the bake's uv.lock.
- `lock.py`: `make lock`, the baked project's uv.lock.
- `compiled_templates.py`: compiled Jinja templates shared by the bakes of one test process.

Run from the repository's root, where `tests` and `benchmarks` are packages: pytest does that, and the
benchmarks run as modules (`python -m benchmarks.speed`).
"""
