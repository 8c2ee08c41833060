import uuid

import pytest
from playwright.sync_api import expect

from {{ cookiecutter.project_slug }} import history
from {{ cookiecutter.project_slug }}.testing.browser import CrashableServer, in_thread

from ..consumers import room_group

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_room(new_page, room):
    page = new_page()
    page.goto(f"/chat/{room}/")
    expect(page.locator("#status")).to_have_text("connected")
    return page


def say(page, text):
    page.fill("#message", text)
    page.press("#message", "Enter")


def test_two_pages_in_a_room_see_each_other_and_another_room_does_not(new_page, screenshot):
    room, other_room = f"lobby-{uuid.uuid4().hex[:8]}", f"kitchen-{uuid.uuid4().hex[:8]}"
    alice, bob, carol = open_room(new_page, room), open_room(new_page, room), open_room(new_page, other_room)

    say(alice, "hello from alice")
    say(bob, "hi alice")
    for page in (alice, bob):
        expect(page.locator("#log div")).to_have_text(["anonymous: hello from alice", "anonymous: hi alice"])

    say(carol, "anyone here?")
    # Carol's own message arrives, and nothing from the other room came before it.
    expect(carol.locator("#log div")).to_have_text(["anonymous: anyone here?"])
    expect(alice.locator("#log div")).to_have_count(2)
    screenshot(alice, "chat-room")


def test_a_page_catches_up_after_the_server_is_killed_and_restarted_and_a_new_page_shows_the_recent(
    crashable_server,
):
    room = f"restarts-{uuid.uuid4().hex[:8]}"
    page = crashable_server.context.new_page()
    page.goto(f"/chat/{room}/")
    expect(page.locator("#status")).to_have_text("connected")
    say(page, "before the crash")
    expect(page.locator("#log div")).to_have_text(["anonymous: before the crash"])
    crashable_server.crash()
    expect(page.locator("#status")).to_contain_text("disconnected")
    # Stored meanwhile by another process (here the test's): its live event reaches nobody.
    for text in ("while down 1", "while down 2"):
        in_thread(history.append, room_group(room), {"message": text, "user": "ops"})
    crashable_server.restart()
    expect(page.locator("#status")).to_have_text("connected", timeout=20_000)  # it reconnects by itself
    lines = ["anonymous: before the crash", "ops: while down 1", "ops: while down 2"]
    expect(page.locator("#log div")).to_have_text(lines)

    newcomer = crashable_server.context.new_page()
    newcomer.goto(f"/chat/{room}/")
    expect(newcomer.locator("#log div")).to_have_text(lines)  # the room's recent messages
    say(newcomer, "back again")
    for each in (page, newcomer):
        expect(each.locator("#log div")).to_have_text([*lines, "anonymous: back again"])


def test_pages_in_a_room_see_who_is_there_and_who_leaves(new_page, log_in, django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    room = f"presence-{uuid.uuid4().hex[:8]}"
    alice = new_page()
    log_in(alice, "alice", "pw-alice-123")
    alice.goto(f"/chat/{room}/")
    expect(alice.locator("#presence")).to_have_text("alice")

    visitor = open_room(new_page, room)
    for page in (alice, visitor):
        expect(page.locator("#presence")).to_have_text("alice and 1 anonymous")
    visitor.close()
    expect(alice.locator("#presence")).to_have_text("alice")


@pytest.fixture
def two_servers(browser, process_env, tmp_path):
    """Two uvicorn processes on the session's Redis, a browser context on each; presence heartbeats of 1 s."""
    env = {**process_env, "PRESENCE_HEARTBEAT_SECONDS": "1"}
    servers = [CrashableServer(browser, env, tmp_path / f"server-{n}.log") for n in (1, 2)]
    yield servers
    for server in servers:
        server.close()


@pytest.mark.redis
def test_three_pages_on_two_servers_see_the_same_room_and_who_is_in_it_through_a_crash(two_servers):
    first, second = two_servers
    room = f"two-servers-{uuid.uuid4().hex[:8]}"

    def open_on(server):
        page = server.context.new_page()
        page.goto(f"/chat/{room}/")
        expect(page.locator("#status")).to_have_text("connected")
        return page

    pages = one, two, three = open_on(first), open_on(second), open_on(second)
    for page in pages:
        expect(page.locator("#presence")).to_have_text("3 anonymous")
    lines = []
    for page, text in [(one, "one"), (two, "two")]:
        say(page, text)
        lines.append(f"anonymous: {text}")
        for each in pages:
            expect(each.locator("#log div")).to_have_text(lines)

    first.crash()
    expect(one.locator("#status")).to_contain_text("disconnected")
    for page in (two, three):  # the crashed server's socket leaves the list within 3 heartbeats
        expect(page.locator("#presence")).to_have_text("2 anonymous")
    for page, text in [(two, "three"), (three, "four")]:
        say(page, text)
        lines.append(f"anonymous: {text}")
        expect(three.locator("#log div")).to_have_text(lines)

    first.restart()
    expect(one.locator("#status")).to_have_text("connected", timeout=20_000)
    say(one, "five")
    lines.append("anonymous: five")
    for page in pages:  # the same messages, once each, in the same order on every page
        expect(page.locator("#log div")).to_have_text(lines)
        expect(page.locator("#presence")).to_have_text("3 anonymous")
