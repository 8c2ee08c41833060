"""In the real browser: an open page's socket ends with its login (logins.py), and the page says so.

Logging out in another tab of the same browser, or an admin deactivating the user in the admin, closes the
notifications socket with 4401 within a moment; the page stops reconnecting and asks to log in again.
"""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOGGED_OUT = "not logged in: log in and reload the page"


@pytest.fixture
def alices_page(new_page, log_in, django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    page = new_page()
    log_in(page, "alice", "pw-alice-123")
    page.goto("/notifications/")
    expect(page.locator("#status")).to_have_text("connected")
    return page


def test_logging_out_in_another_tab_closes_the_pages_socket(alices_page):
    other_tab = alices_page.context.new_page()
    other_tab.goto("/")
    other_tab.click("text=Log out")
    expect(alices_page.locator("#status")).to_have_text(LOGGED_OUT, timeout=5_000)


def test_an_admin_deactivating_the_user_closes_the_pages_socket(alices_page, new_page, log_in, django_user_model):
    django_user_model.objects.create_superuser("boss", password="pw-boss-123")
    admin = new_page()
    log_in(admin, "boss", "pw-boss-123")
    admin.goto(f"/admin/auth/user/{django_user_model.objects.get(username='alice').pk}/change/")
    admin.uncheck("#id_is_active")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(alices_page.locator("#status")).to_have_text(LOGGED_OUT, timeout=5_000)
