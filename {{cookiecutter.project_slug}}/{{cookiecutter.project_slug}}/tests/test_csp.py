"""The Content-Security-Policy header that Django 6's middleware sends (settings.SECURE_CSP), and every page working
under it in a real browser: scripts, styles and sockets from the page's own origin only. Django 5.2 has no CSP
middleware: there these tests skip, and test_pages.py checks the same pages under a strict policy it adds itself."""

import django
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.skipif(
    django.VERSION < (6, 0),
    reason=f"Django {django.get_version()} sends no Content-Security-Policy: its CSP middleware is new in Django 6.0",
)

POLICY = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"


@pytest.mark.django_db
def test_every_page_sends_the_policy(client, admin_client):
    for path in ["/", "/accounts/login/"]:
        assert client.get(path)["Content-Security-Policy"] == POLICY
    assert admin_client.get("/admin/")["Content-Security-Policy"] == POLICY


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_works_under_the_projects_own_policy(new_page, log_in, django_user_model):
    page = new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto("/")
    assert response.headers["content-security-policy"] == POLICY

    django_user_model.objects.create_superuser("demo", password="pw-demo-123")
    log_in(page, "demo", "pw-demo-123")
    links = page.locator(".topbar nav a")
    for url in [links.nth(n).get_attribute("href") for n in range(links.count())]:
        response = page.goto(url)
        assert response.headers["content-security-policy"] == POLICY, url
        if page.locator("#status").count():
            # The page's script ran and its socket (ws: to the same origin, under 'self') connected.
            expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    page.goto("/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    assert problems == []
