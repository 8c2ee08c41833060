import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from playwright.sync_api import expect

from {{ cookiecutter.project_slug }}.testing.browser import in_thread

from ..api import notify_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def open_notifications(new_page, log_in, django_user_model):
    """`open_notifications(username)` creates that user and opens their notifications page in a new browser."""

    def open_page(username, **extra):
        if not django_user_model.objects.filter(username=username).exists():
            django_user_model.objects.create_user(username, password=f"pw-{username}-123", **extra)
        page = new_page()
        log_in(page, username, f"pw-{username}-123")
        page.goto("/notifications/")
        expect(page.locator("#status")).to_have_text("connected")
        return page

    return open_page


def test_a_notification_reaches_every_tab_of_the_user_and_nobody_else(open_notifications):
    alice_tab1, alice_tab2, bob = open_notifications("alice"), open_notifications("alice"), open_notifications("bob")
    # The page's form posts to a view that calls notifications.api.notify_user(request.user, ...).
    alice_tab1.fill("#message", "hello alice")
    alice_tab1.click("text=Notify me")
    for page in (alice_tab1, alice_tab2):
        expect(page.locator("#log div")).to_have_text(["alice: hello alice"])
    expect(alice_tab1.locator("#message")).to_have_value("")
    bob.wait_for_timeout(300)
    expect(bob.locator("#log div")).to_have_count(0)


def test_staff_broadcasts_reach_everyone(open_notifications, screenshot):
    boss, bob = open_notifications("boss", is_staff=True), open_notifications("bob")
    expect(bob.locator("text=Broadcast")).to_have_count(0)
    boss.fill("#message", "all hands")
    boss.click("text=Broadcast")
    for page in (boss, bob):
        expect(page.locator("#log div")).to_have_text(["boss: all hands"])
    screenshot(boss, "notifications")


def test_a_logged_in_page_outlives_a_server_crash_and_gets_what_was_sent_meanwhile(
    crashable_server, log_in, django_user_model
):
    alice = django_user_model.objects.create_user("alice", password="pw-alice-123")
    page = crashable_server.context.new_page()
    log_in(page, "alice", "pw-alice-123")
    page.goto("/notifications/")
    expect(page.locator("#status")).to_have_text("connected")
    crashable_server.crash()
    expect(page.locator("#status")).to_contain_text("disconnected")
    # Sent while the page was reconnecting, by another process (here the test's): kept, and shown once it is back.
    in_thread(notify_user, alice, {"message": "while you were away", "from": "ops"})
    crashable_server.restart()
    expect(page.locator("#status")).to_have_text("connected", timeout=20_000)
    expect(page.locator("#log div")).to_have_text(["ops: while you were away"])
    # Still logged in: the session outlived the crash.
    page.fill("#message", "after the crash")
    page.click("text=Notify me")
    expect(page.locator("#log div")).to_have_text(["ops: while you were away", "alice: after the crash"])
    # The kept notifications and Django's rows (the user, the login session) are whole.
    if connection.vendor == "sqlite":  # a server database (pytest --postgresql) is not a file a crash can tear
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA integrity_check")
            assert cursor.fetchone() == ("ok",)
    assert Session.objects.count() == 1


@pytest.mark.redis
def test_with_redis_the_notify_command_reaches_the_page(open_notifications, process_env):
    page = open_notifications("alice")
    # As a user would, from a terminal: another process, reaching the server's sockets through Redis.
    command = [sys.executable, "manage.py", "notify", "--user", "alice", "from the terminal"]
    sent = subprocess.run(command, cwd=PROJECT_DIR, env=process_env, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    expect(page.locator("#log div")).to_have_text(["manage.py notify: from the terminal"])
