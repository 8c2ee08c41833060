"""A page of another origin in the real browser: served from another port of the live server's host, so the
browser sends the user's session cookie with its sockets, it still cannot open them (middleware.SameOriginMiddleware);
an origin in DJANGO_CSRF_TRUSTED_ORIGINS can.
"""

import http.server
import threading

import pytest
from playwright.sync_api import expect

from {{ cookiecutter.project_slug }}.testing import processes
from {{ cookiecutter.project_slug }}.testing.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class OtherSite:
    """A page of another origin: the same host as the live server, another port, opening its sockets."""

    PAGE = """<!doctype html><script>
      window.results = {};
      for (const path of ["/ws/notifications/", "/ws/tasks/"]) {
        const socket = new WebSocket("ws://%(server)s" + path);
        socket.onopen = () => { window.results[path] = "open"; };
        socket.onmessage = (event) => { window.results[path] = "read " + event.data; };
        socket.onclose = (event) => { window.results[path] = window.results[path] || "closed " + event.code; };
      }
    </script>"""

    def __init__(self, server_url, port=None):
        page = (self.PAGE % {"server": server_url.removeprefix("http://")}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((processes.HOST, port or processes.free_port()), Handler)
        self.url = f"http://{processes.HOST}:{self.httpd.server_port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def results(self, page):
        page.goto(self.url)
        page.wait_for_function("Object.keys(window.results).length === 2")
        return page.evaluate("window.results")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def other_site(uvicorn_server):
    site = OtherSite(uvicorn_server.url)
    yield site
    site.close()


def test_a_page_on_another_port_cannot_open_a_logged_in_users_sockets(
    new_page, log_in, other_site, uvicorn_server, django_user_model
):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    page = new_page()
    log_in(page, "alice", "pw-alice-123")
    page.goto("/notifications/")
    expect(page.locator("#status")).to_have_text("connected")  # the site's own page still opens its socket

    # The session cookie goes to every port of the host, so only the Origin check stands in the way.
    assert other_site.results(page) == {"/ws/notifications/": "closed 1006", "/ws/tasks/": "closed 1006"}
    assert f"WebSocket refused: Origin '{other_site.url.rstrip('/')}'" in uvicorn_server.log.read_text()


def test_a_trusted_origin_opens_them(browser, process_env, tmp_path, log_in, django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    port = processes.free_port()
    env = {**process_env, "DJANGO_CSRF_TRUSTED_ORIGINS": f"http://{processes.HOST}:{port}"}
    server = LiveServer(env, tmp_path / "server.log")
    site = OtherSite(server.url, port)
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        log_in(page, "alice", "pw-alice-123")
        assert site.results(page) == {"/ws/notifications/": "open", "/ws/tasks/": "open"}
    finally:
        context.close()
        site.close()
        server.stop()
