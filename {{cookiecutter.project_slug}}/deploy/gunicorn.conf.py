"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py`, run from the project folder.

gunicorn manages the processes (restarts one that dies, reloads gracefully on HUP); each process runs
uvicorn's event loop through uvicorn-worker. Values come from the environment, so one file fits every machine.
"""

import os

import uvicorn_worker

# The socket limits of the project's uvicorn commands (--ws-max-size, --ws-per-message-deflate):
# - a frame over 1 MiB closes its socket with code 1009 (uvicorn's own default is 16 MiB);
# - no compression: a compressed frame of repeated bytes inflates a thousandfold, and uvicorn queues every
#   frame of one read, so one client could make a worker hold gigabytes.
WS_MAX_SIZE = 1024 * 1024


class UvicornWorker(uvicorn_worker.UvicornWorker):
    CONFIG_KWARGS = {
        **uvicorn_worker.UvicornWorker.CONFIG_KWARGS,
        "ws_max_size": WS_MAX_SIZE,
        "ws_per_message_deflate": False,
    }


wsgi_app = "{{ cookiecutter.project_slug }}.asgi:application"
worker_class = UvicornWorker
# Behind nginx on the same machine; in a container, GUNICORN_BIND=0.0.0.0:8000.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# More than one process needs REDIS_URL: the in-memory channel layer does not cross processes.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Open sockets get this long to finish on restart before they are cut (clients reconnect).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
accesslog = "-"


def on_starting(server):
    # The project's system checks read WEB_CONCURRENCY to warn about the in-memory layer across processes:
    # make it true even when --workers was given on the command line.
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)
