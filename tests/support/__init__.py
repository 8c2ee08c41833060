"""What the template suite (tests/) and the benchmarks (benchmarks/) share; no tests, no fixtures.

- `bakes.py`: the template's folder, the option combinations the suite bakes, running commands in a bake.
- `processes.py`: real processes (redis-server, uvicorn, gunicorn, nginx, manage.py), on top of the baked
  project's own starters (`<slug>/testing/processes.py`, loaded from the template).
- `dev_server.py`: a bake's server command as a real process, and a WebSocket client for it.
- `run_configs.py`: a bake's IDE run configurations read into command lines, and their checks.
- `upstream.py`, `upstream_plugin.py`: channels-redis's own tests, run against a layer class of a bake.

Run from the repository's root, where `tests` and `benchmarks` are packages: pytest does that, and the
benchmarks run as modules (`python -m benchmarks.speed`).
"""
