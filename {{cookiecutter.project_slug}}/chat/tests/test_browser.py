import uuid

import pytest
from playwright.sync_api import expect

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


def test_a_page_reconnects_after_the_server_is_killed_and_restarted(crashable_server):
    page = crashable_server.context.new_page()
    page.goto("/chat/restarts/")
    expect(page.locator("#status")).to_have_text("connected")
    crashable_server.crash_and_restart(page)
    say(page, "back again")
    expect(page.locator("#log div")).to_have_text(["anonymous: back again"])


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
