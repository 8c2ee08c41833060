"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py`, run from the project folder.

gunicorn manages the processes (restarts one that dies, replaces them on HUP); each process runs uvicorn's
event loop through uvicorn-worker. Values come from the environment, so one file fits every machine: the
variables systemd (EnvironmentFile) or compose (env_file) set, else the project's .env, read here as settings.py
reads it (a variable already in the environment wins). The master keeps what it read: a reload (HUP) starts its
new workers with the same values, so an edited value in .env takes a restart.
"""

import os
import subprocess
import sys

import uvicorn_worker
from dotenv import load_dotenv

# gunicorn puts the folder it runs in on sys.path before it reads this file.
from {{ cookiecutter.project_slug }}.environment import ENV_FILE, env_int, env_str
from {{ cookiecutter.project_slug }}.server import UVICORN_OPTIONS

# The project's .env, as settings.py reads it: systemd and compose have put it in the environment already, a
# gunicorn started by hand has not.
load_dotenv(ENV_FILE)


class UvicornWorker(uvicorn_worker.UvicornWorker):  # type: ignore[misc]  # uvicorn-worker is untyped
    """uvicorn-worker's worker with the WebSocket options of every server command of the project."""

    CONFIG_KWARGS = {**uvicorn_worker.UvicornWorker.CONFIG_KWARGS, **UVICORN_OPTIONS}


wsgi_app = "{{ cookiecutter.project_slug }}.asgi:application"
worker_class = UvicornWorker
# Behind nginx on the same machine; in a container, GUNICORN_BIND=0.0.0.0:8000.
bind = env_str("GUNICORN_BIND", "127.0.0.1:8000")
# More than one process needs REDIS_URL: the in-memory channel layer does not cross processes.
workers = env_int("WEB_CONCURRENCY", 2, minimum=1)
# On a reload or stop, a worker closes its open sockets at once (code 1012: clients reconnect) and gets this long
# to finish the requests in flight and its shutdown before it is killed.
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Whose X-Forwarded-For (the client's address) to believe: gunicorn's default, read before .env was loaded above.
# Empty, as unset: none at all would not believe the local nginx either.
# Keep the local nginx (127.0.0.1,::1) in it when adding a load balancer: docs/deploy.md.
forwarded_allow_ips = env_str("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"


def on_starting(server):
    # The project's system checks read WEB_CONCURRENCY to warn about the in-memory layer across processes:
    # make it true even when --workers was given on the command line.
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)
    stop_unless_settings_load()


def stop_unless_settings_load():
    """Load the project's settings once before any worker starts, and stop with their one-sentence message if
    they cannot load (a malformed variable): otherwise every worker would fail the same way and be restarted
    forever. In a child process, so that the master never imports the project: workers started by a reload (HUP)
    import its code afresh."""
    settings = "{{ cookiecutter.project_slug }}.settings"
    child = subprocess.run([sys.executable, "-c", f"import {settings}"], capture_output=True, text=True, timeout=60)
    if child.returncode:
        sys.exit(child.stderr.strip() or f"{settings} failed to load (exit code {child.returncode}).")
