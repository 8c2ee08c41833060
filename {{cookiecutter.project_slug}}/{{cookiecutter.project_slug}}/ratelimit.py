"""Login rate limits: failed logins are counted per client address and per username in Django's cache.

A login attempt is refused while either count has reached its limit in the current window:
settings.LOGIN_FAILURES_PER_ADDRESS, LOGIN_FAILURES_PER_USERNAME, per LOGIN_FAILURE_WINDOW_SECONDS (fixed
windows: counts start again at each window's start). The cache is Redis when REDIS_URL is set, so every server
process shares the counts; otherwise it lives in the process (one process, as the in-memory layer needs).

Where it applies:
- every authenticate() call, through RateLimitedModelBackend (settings.AUTHENTICATION_BACKENDS): a refused
  attempt fails like a wrong password;
- the login pages, /accounts/login/ and /admin/login/, whose forms (LoginForm, AdminLoginForm) say why;
- POST /api/ws-token/ (views.py), which answers 429 with Retry-After.
Failures are counted from Django's `user_login_failed` signal (apps.py connects count_failure); a successful
login clears its username's count. IPv6 clients are counted per /64, the block one subscriber usually holds.
An unreachable cache lets logins through and logs a warning: an outage of Redis must not lock everyone out.
"""

import hashlib
import ipaddress
import logging
import math
import time
import unicodedata
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from {{ cookiecutter.project_slug }}.health import misconfiguration, unreachable_errors

logger = logging.getLogger(__name__)


@contextmanager
def cache_errors_logged(consequence):
    """Runs the block; a cache error ends it and is logged after `consequence`: one line when Redis is unreachable
    (health.unreachable_errors(): every login would log a traceback while Redis is away), else with its traceback."""
    try:
        yield
    except unreachable_errors() as error:
        fix = misconfiguration(error)  # a refused password is a ConnectionError too
        logger.warning("%s: %s.", consequence, fix or f"the cache is unreachable ({error})")
    except Exception:
        logger.warning("%s: the cache failed.", consequence, exc_info=True)


def retry_after(request, username):
    """Seconds until a login for `username` from `request`'s client may be tried again; 0 when it may now."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    now = time.time()
    keys = counter_keys(request, username, now)
    counts = {}
    with cache_errors_logged("Login rate limits are off"):
        counts = cache.get_many(list(keys))
    for key, limit in keys.items():
        if counts.get(key, 0) >= limit:
            return max(1, math.ceil(window - now % window))
    return 0


def count_failure(sender, credentials, request=None, **kwargs):
    """`user_login_failed` receiver: one more failure for the request's client address and for the username."""
    username = credentials.get(get_user_model().USERNAME_FIELD, credentials.get("username"))
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    with cache_errors_logged("A failed login was not counted"):
        for key in counter_keys(request, username, time.time()):
            # add() then incr(): both atomic in Redis, so processes counting at once lose no failure.
            if not cache.add(key, 1, timeout=window + 1):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add() and incr()
                    cache.add(key, 1, timeout=window + 1)


def clear_username(username):
    """Forget the failures of `username` in this window (after it logged in)."""
    key = f"login-failures:username:{digest(normalized(username))}:{bucket(time.time())}"
    with cache_errors_logged("Could not clear the failed logins of a user"):
        cache.delete(key)


def counter_keys(request, username, now):
    """{cache key: limit} of the counters a login attempt is checked against (username may be None)."""
    keys = {f"login-failures:address:{digest(client_address(request))}:{bucket(now)}": limit("ADDRESS")}
    if isinstance(username, str) and username:
        keys[f"login-failures:username:{digest(normalized(username))}:{bucket(now)}"] = limit("USERNAME")
    return keys


def limit(kind):
    return getattr(settings, f"LOGIN_FAILURES_PER_{kind}")


def bucket(now):
    return int(now // settings.LOGIN_FAILURE_WINDOW_SECONDS)


def client_address(request):
    """The client's address (uvicorn puts the proxy's X-Forwarded-For client here when it trusts the proxy),
    an IPv6 one as its /64 network."""
    address = getattr(request, "META", {}).get("REMOTE_ADDR") or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def normalized(username):
    # Case and Unicode variants of one name count together.
    return unicodedata.normalize("NFKC", username).casefold()


def digest(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def wait_message(seconds):
    minutes = math.ceil(seconds / 60)
    when = f"{seconds} seconds" if seconds < 60 else f"{minutes} minute{'s' if minutes > 1 else ''}"
    return f"Too many failed logins from your address or for this username. Try again in {when}."


class RateLimitedModelBackend(ModelBackend):
    """Django's ModelBackend, refusing logins that retry_after() holds back (PermissionDenied: authenticate()
    stops there and returns None), and clearing a username's failures when it logs in."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if retry_after(request, username):
            raise PermissionDenied("Too many failed logins.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            clear_username(username)
        return user


if TYPE_CHECKING:
    # The mixin goes before AuthenticationForm: to the type checker it is one (self.request, self.cleaned_data).
    FormMixinBase = AuthenticationForm
else:
    FormMixinBase = object


class RateLimitedFormMixin(FormMixinBase):
    """For AuthenticationForm and its subclasses: a held-back login gets a form error saying when to retry."""

    def clean(self):
        username = self.cleaned_data.get("username")
        wait = retry_after(self.request, username) if self.request is not None else 0
        if wait:
            raise forms.ValidationError(wait_message(wait), code="too_many_failed_logins")
        return super().clean()


class LoginForm(RateLimitedFormMixin, AuthenticationForm):
    """The form of /accounts/login/ (urls.py)."""


class AdminLoginForm(RateLimitedFormMixin, AdminAuthenticationForm):
    """The form of /admin/login/ (apps.py sets it on the admin site)."""
