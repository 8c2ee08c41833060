"""The pages every bake has (home, login, admin): the project's name, the login help, the icon, the stylesheet,
and, in a real browser, no inline script or style (they work under a strict Content-Security-Policy)."""

import re

import pytest
from django.apps import apps
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command
from django.utils.html import escape
from playwright.sync_api import expect

PROJECT_NAME = apps.get_app_config("{{ cookiecutter.project_slug }}").verbose_name
HTML_NAME = escape(PROJECT_NAME)
# What a careful production deployment would send: nothing inline, nothing from elsewhere.
STRICT_CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"


def test_pages_name_the_project_and_link_the_stylesheet_and_icon(client):
    for path in ["/", "/accounts/login/"]:
        html = client.get(path).content.decode()
        assert re.search(rf"<title>[^<]* · {re.escape(HTML_NAME)}</title>", html), html
        assert 'class="brand"' in html and HTML_NAME in html
        assert "site/site.css" in html and "site/favicon.svg" in html
        assert "<style" not in html and " style=" not in html and "<script>" not in html


def test_the_home_page_of_a_project_without_app_pages_says_how_to_add_an_app(client, settings):
    # newapp, not an edit of PROJECT_APPS by hand: newapp also adds the app to the reloader's folders (docs/reload.md).
    settings.PROJECT_APPS = []
    html = client.get("/").content.decode()
    assert "No app with a page yet" in html and "manage.py newapp NAME" in html


@pytest.mark.django_db
def test_the_admin_names_the_project(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert f"<title>Administration | {HTML_NAME}</title>" in html
    assert "Django administration" not in html


def test_favicon_ico_is_the_static_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("site/favicon.svg")
    assert finders.find("site/favicon.svg")


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_the_login_page_says_how_to_get_an_account_only_in_development(client, settings, debug):
    settings.DEBUG = debug
    html = client.get("/accounts/login/").content.decode()
    assert ("manage.py demo_user" in html) == debug


@pytest.mark.django_db
def test_demo_user_creates_a_superuser_and_prints_the_password(client, settings, capsys, django_user_model):
    settings.DEBUG = True
    call_command("demo_user")
    password = re.search(r"password: (\S+)", capsys.readouterr().out)[1]
    user = django_user_model.objects.get(username="demo")
    assert user.is_superuser and user.is_staff and client.login(username="demo", password=password)
    # Again: the same user, a new password.
    call_command("demo_user", password="another-pass-123")
    assert "Reset" in capsys.readouterr().out and client.login(username="demo", password="another-pass-123")
    assert django_user_model.objects.count() == 1


@pytest.mark.django_db
def test_demo_user_refuses_without_debug(settings, django_user_model):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("demo_user")
    assert not django_user_model.objects.exists()


@pytest.fixture
def strict_page(new_page):
    """`strict_page()`: a page whose every response carries STRICT_CSP; `page.problems` collects what the
    console reports (CSP violations, script errors)."""

    def open_page():
        page = new_page()
        page.problems = []
        page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
        page.on("pageerror", lambda error: page.problems.append(str(error)))

        def with_csp(route):
            response = route.fetch(max_redirects=0)
            route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

        page.context.route("**/*", with_csp)
        return page

    return open_page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_works_under_a_strict_csp_and_shows_its_socket_the_same_way(
    strict_page, log_in, django_user_model, screenshot, uvicorn_server
):
    page = strict_page()
    page.goto("/")
    expect(page).to_have_title(re.compile(re.escape(PROJECT_NAME)))
    screenshot(page, "home")
    page.goto("/accounts/login/")
    expect(page.locator("#dev-account")).to_contain_text("manage.py demo_user")
    screenshot(page, "login")

    django_user_model.objects.create_superuser("demo", password="pw-demo-123")
    log_in(page, "demo", "pw-demo-123")
    links = page.locator(".topbar nav a")
    for url in [links.nth(n).get_attribute("href") for n in range(links.count())]:
        page.goto(url)
        expect(page.locator(f'.topbar nav a[href="{url}"]')).to_have_attribute("aria-current", "page")
        if page.locator("#status").count():
            expect(page.locator("#status")).to_have_text("connected")
            expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    page.goto("/admin/")
    expect(page.locator("#site-name")).to_contain_text(PROJECT_NAME)
    assert page.problems == []
    assert "Not Found: /favicon.ico" not in uvicorn_server.log.read_text()
