"""Headless chromium for the browser tests, and a server that a test can crash under an open page."""

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from .live_server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser downloads are not used
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # Pages a test answers itself (route.fulfill, tests/test_pages.py) count as public ones, whose sockets to
    # 127.0.0.1 Chrome's Local Network Access checks would refuse.
    "--disable-features=LocalNetworkAccessChecks",
]


@contextmanager
def chromium():
    """Launch CHROMIUM through Playwright's sync API; yields the browser."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, so Django would take these
    # synchronous tests' ORM calls (creating users, flushing the database) for async code and refuse them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def in_thread(function, *args):
    """`function(*args)` in a thread of its own, for project code a browser test calls (history.append,
    notify_user...): Playwright's sync API runs an event loop in the test's thread, where asgiref's async_to_sync
    refuses to run. The thread's database connection is closed after."""
    from django.db import connections

    def call():
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


class CrashableServer(LiveServer):
    """A uvicorn of one test's own, and a browser context on it, for tests that crash it mid-stream."""

    def __init__(self, browser, process_env, log):
        super().__init__(process_env, log)
        self.context = browser.new_context(base_url=self.url)
        self.context.set_default_timeout(10_000)

    def crash(self):
        """SIGKILL, like a crash or an OOM kill: no goodbye to any socket, nothing flushed."""
        self.process.kill()
        self.process.wait()

    def restart(self):
        self.start()

    def crash_and_restart(self, page):
        """Crash the server under an open page; return once the page has reconnected by itself."""
        from playwright.sync_api import expect

        self.crash()
        expect(page.locator("#status")).to_contain_text("disconnected")
        self.restart()
        # The page retries with backoff (0.5 s, 1 s, 2 s... with jitter) and gets back in on its own.
        expect(page.locator("#status")).to_have_text("connected", timeout=20_000)

    def close(self):
        self.context.close()
        self.stop()
