"""Login rate limits (ratelimit.py): failed logins per client address and per username, counted in the cache.

The login page and the admin's say when to retry (a form error), POST /api/ws-token/ answers 429 with
Retry-After, and every other authenticate() call is refused the same way. Here with small limits; the template's
suite checks the counts are shared by two server processes on one Redis.
"""

import logging

import pytest
from django.contrib.auth import authenticate
from django.test import Client

pytestmark = pytest.mark.django_db

PER_USERNAME, PER_ADDRESS, WINDOW = 3, 5, 900
PASSWORD = "pw-alice-123"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.LOGIN_FAILURES_PER_USERNAME = PER_USERNAME
    settings.LOGIN_FAILURES_PER_ADDRESS = PER_ADDRESS
    settings.LOGIN_FAILURE_WINDOW_SECONDS = WINDOW


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD, is_staff=True)


def log_in(page, username, password, address="10.0.0.1"):
    """POST a login form from the client at `address`; returns the response."""
    return Client(REMOTE_ADDR=address).post(page, {"username": username, "password": password})


def token(username, password, address="10.0.0.1"):
    body = {"username": username, "password": password, "path": "/ws/notifications/"}
    return Client(REMOTE_ADDR=address).post("/api/ws-token/", body)


@pytest.mark.parametrize("page", ["/accounts/login/", "/admin/login/"])
def test_the_login_pages_say_when_to_retry_after_too_many_failures_for_a_username(alice, page):
    for attempt in range(PER_USERNAME):
        # From a new address each time: the username's count is what stops the guessing.
        assert log_in(page, "alice", "wrong", address=f"10.0.1.{attempt}").status_code == 200
    held_back = log_in(page, "alice", PASSWORD, address="10.0.2.1")
    assert held_back.status_code == 200 and "_auth_user_id" not in held_back.client.session
    assert "Too many failed logins" in held_back.content.decode()
    assert "Try again in" in held_back.content.decode()
    assert "Too many failed logins" not in log_in(page, "bob", "wrong", address="10.0.2.1").content.decode()


def test_the_token_api_answers_429_with_retry_after(alice):
    for _ in range(PER_USERNAME):
        assert token("alice", "wrong").status_code == 401
    held_back = token("alice", PASSWORD)
    assert held_back.status_code == 429
    assert 0 < int(held_back["Retry-After"]) <= WINDOW
    assert "Too many failed logins" in held_back.json()["error"] and "token" not in held_back.json()


def test_one_address_guessing_many_usernames_is_held_back(alice):
    for number in range(PER_ADDRESS):
        assert token(f"user{number}", "wrong", address="10.0.3.1").status_code == 401
    assert token("alice", PASSWORD, address="10.0.3.1").status_code == 429
    assert token("alice", PASSWORD, address="10.0.3.2").status_code == 200  # another client is not


def test_ipv6_clients_are_counted_per_64_block(alice):
    for number in range(PER_ADDRESS):
        assert token(f"user{number}", "wrong", address=f"2001:db8:0:1::{number + 1}").status_code == 401
    assert token("alice", PASSWORD, address="2001:db8:0:1:ffff::9").status_code == 429
    assert token("alice", PASSWORD, address="2001:db8:0:2::1").status_code == 200


def test_case_and_unicode_variants_of_a_username_count_together(alice):
    for variant in ("alice", "ALICE", "Ａｌｉｃｅ"):
        token(variant, "wrong", address=f"10.0.4.{len(variant)}")
    assert token("alice", PASSWORD, address="10.0.4.9").status_code == 429


def test_a_login_clears_its_usernames_failures(alice):
    for _ in range(PER_USERNAME - 1):
        token("alice", "wrong")
    assert token("alice", PASSWORD).status_code == 200
    for _ in range(PER_USERNAME - 1):
        token("alice", "wrong")
    assert token("alice", PASSWORD).status_code == 200


def test_any_other_authenticate_call_is_held_back_too(alice, rf):
    request = rf.post("/anywhere/", REMOTE_ADDR="10.0.5.1")
    for _ in range(PER_USERNAME):
        assert authenticate(request, username="alice", password="wrong") is None
    assert authenticate(rf.post("/anywhere/", REMOTE_ADDR="10.0.5.2"), username="alice", password=PASSWORD) is None


def test_an_unreachable_cache_lets_logins_through_and_says_so(alice, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    with caplog.at_level(logging.WARNING):
        assert token("alice", "wrong").status_code == 401
        assert token("alice", PASSWORD).status_code == 200
    assert "Login rate limits are off: the cache is unreachable" in caplog.text
    assert not [record.getMessage() for record in caplog.records if record.exc_info], "a traceback per login"
