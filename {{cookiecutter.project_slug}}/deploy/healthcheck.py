"""Container health check: `python deploy/healthcheck.py /readyz` (or /healthz) exits 0 when this container's
server answers 200, else 1, printing the answer (`docker inspect CONTAINER` shows the last ones, under State.Health).

Used by the Dockerfile's HEALTHCHECK and compose.yaml's web service. The standard library only: the image has
no curl, and a check every few seconds should not load Django. It calls the port of GUNICORN_BIND on 127.0.0.1
with a Host header from DJANGO_ALLOWED_HOSTS: Django answers 400 to any other host, and 127.0.0.1 is not in a
production list.
"""

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 5  # /readyz answers within about 2 s (health.PROBE_TIMEOUT_SECONDS)


def allowed_host(value):
    """A host name Django accepts under DJANGO_ALLOWED_HOSTS=`value` (comma-separated, as settings.py reads it)."""
    for host in (part.strip() for part in value.split(",")):
        if host and host != "*":
            return host.removeprefix(".")  # ".example.com" allows example.com and its subdomains
    return "localhost"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (to https) is a failed check: the probes are exempt from it


def main(path):
    port = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").rpartition(":")[2]
    host = allowed_host(os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost"))
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=TIMEOUT_SECONDS) as response:
            print(response.status, response.read(500).decode(errors="replace"))
            return 0
    except urllib.error.HTTPError as error:
        print(error.code, error.read(500).decode(errors="replace"))
    except OSError as error:  # refused, timed out: the server is not answering at all
        print(f"no answer from 127.0.0.1:{port}: {error}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/healthz"))
