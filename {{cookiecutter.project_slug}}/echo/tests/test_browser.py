import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_page_echoes_and_logs_each_socket_it_opens_and_closes(new_page, screenshot):
    page = new_page()
    page.goto("/echo/")
    expect(page.locator("#status")).to_have_text("connected")
    page.fill("#message", "hello")
    page.press("#message", "Enter")
    expect(page.locator("#log div")).to_have_text(["connected to /ws/echo/", "→ hello", "← hello"])

    page.select_option("#socket", "/ws/echo-json/")
    expect(page.locator("#log div.event")).to_have_text(
        ["connected to /ws/echo/", "disconnected from /ws/echo/ (code 1005)", "connected to /ws/echo-json/"]
    )
    expect(page.locator("#status")).to_have_text("connected")
    page.fill("#message", '{"hello": "world"}')
    page.press("#message", "Enter")
    expect(page.locator("#log div").last).to_have_text('← {"hello": "world"}')
    screenshot(page, "echo")
