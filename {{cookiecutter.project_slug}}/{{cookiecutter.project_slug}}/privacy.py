"""Secrets at rest and on error pages.

- `.env` holds DJANGO_SECRET_KEY (it signs sessions and socket tokens) and the SQLite database holds password
  hashes and live sessions: only their owner should read them. make_database_private (a `connection_created`
  receiver, apps.py) takes group and other permissions off the SQLite file the first time this process opens it
  (SQLite gives its journal files the database's mode); the post-generation hook writes `.env` with mode 0600;
  a deploy check (checks.py, secrets.W001 and secrets.W002) warns about either when others can read it.
- CredentialMaskingExceptionReporterFilter (settings.DEFAULT_EXCEPTION_REPORTER_FILTER): Django's debug page
  and error reports hide settings named like secrets; this filter also masks the user and password of every
  URL they show (REDIS_URL inside CHANNEL_LAYERS and CACHES, a DATABASE_URL, a URL in a local variable), and
  those passwords (and a Sentinel master's) wherever else they appear, e.g. in the local variables of the Redis
  client that sent them.
"""

import re
import stat
from pathlib import Path
from urllib.parse import unquote

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

PRIVATE_BITS = 0o077  # permissions for the file's group and for everyone else
# scheme://userinfo@ : the userinfo runs to the last "@" before the host's end.
# The userinfo runs to the last "@" before the URL ends: a password that is not %-quoted may hold / ? # or @.
URL_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)([^\s'\"]*)@")
MIN_SECRET_LENGTH = 4  # shorter "passwords" would mask ordinary text all over the page

checked: set[str] = set()  # database files this process has made private already


def shared_mode(path):
    """The permission bits of `path` that its group and others hold (0: private or missing), e.g. 0o044."""
    try:
        return stat.S_IMODE(Path(path).stat().st_mode) & PRIVATE_BITS
    except OSError:
        return 0


def make_private(path):
    """Take group and other permissions off `path`; False when that is not possible (not its owner)."""
    try:
        mode = stat.S_IMODE(Path(path).stat().st_mode)
        if mode & PRIVATE_BITS:
            Path(path).chmod(mode & ~PRIVATE_BITS)
    except OSError:
        return False
    return True


def sqlite_file(settings_dict):
    """The file of an SQLite database's settings, or None (another engine, or an in-memory database)."""
    name = str(settings_dict.get("NAME") or "")
    if "sqlite3" not in settings_dict.get("ENGINE", "") or not name or name == ":memory:" or "mode=memory" in name:
        return None
    return Path(name.removeprefix("file:").split("?")[0])


def make_database_private(sender, connection, **kwargs):
    """`connection_created` receiver: the SQLite file of `connection` becomes readable by its owner only."""
    path = sqlite_file(connection.settings_dict)
    if path is not None and path not in checked:
        checked.add(path)
        make_private(path)  # not ours to change: the deploy check (secrets.W002) tells


def url_passwords(value, found=None):
    """The passwords (the whole userinfo when it has no ":") of the URLs in `value`, a string or a dict, list or
    tuple of them, as written and percent-decoded; and the value of each "password" key of those dicts (a
    Sentinel host's passwords)."""
    found = set() if found is None else found
    if isinstance(value, str):
        for match in URL_CREDENTIALS.finditer(value):
            secret = match[2].split(":", 1)[1] if ":" in match[2] else match[2]
            found.update(candidate for candidate in (secret, unquote(secret)) if len(candidate) >= MIN_SECRET_LENGTH)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "password" and isinstance(item, str) and len(item) >= MIN_SECRET_LENGTH:
                found.add(item)
            url_passwords(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            url_passwords(item, found)
    return found


def settings_passwords():
    """The passwords in every URL of the settings (REDIS_URL in CHANNEL_LAYERS and CACHES, DATABASES...). Only
    the settings this project sets: Django's defaults hold no URL, and Django 6.1 warns on reading a deprecated
    one (EMAIL_*) that nobody set."""
    found: set[str] = set()
    for name in dir(settings):
        if name.isupper() and settings.is_overridden(name):  # type: ignore[misc]  # missing from django-stubs
            url_passwords(getattr(settings, name, None), found)
    return found


def mask(value, passwords, substitute):
    """`value` with the userinfo of every URL and every one of `passwords` replaced by `substitute`, inside dicts,
    lists and tuples too (other objects are returned as they are)."""
    if isinstance(value, str):
        value = URL_CREDENTIALS.sub(lambda match: f"{match[1]}{substitute}@", value)
        for password in sorted(passwords, key=len, reverse=True):
            value = value.replace(password, substitute)
        return value
    if type(value) is dict:  # exactly: a QueryDict or a model stays as it is
        return {key: mask(item, passwords, substitute) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(mask(item, passwords, substitute) for item in value)
    return value


class CredentialMaskingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's SafeExceptionReporterFilter, also masking credentials in URLs and the passwords of the settings'
    URLs wherever they appear: in the settings, the request's headers, cookies and POST data, and the local
    variables of each traceback frame."""

    def masked(self, value):
        return mask(value, settings_passwords(), self.cleansed_substitute)

    def get_safe_settings(self):
        return self.masked(super().get_safe_settings())

    def get_safe_request_meta(self, request):
        return self.masked(super().get_safe_request_meta(request))

    def get_safe_cookies(self, request):
        return self.masked(super().get_safe_cookies(request))

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        return self.masked(dict(parameters.items())) if parameters else parameters

    def get_traceback_frame_variables(self, request, tb_frame):
        return self.masked(list(super().get_traceback_frame_variables(request, tb_frame)))
