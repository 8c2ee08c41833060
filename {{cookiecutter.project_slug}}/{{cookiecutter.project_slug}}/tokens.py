"""Short-lived signed tokens for clients that cannot send the session cookie (scripts, mobile apps).

POST /api/ws-token/ hands one out for one socket path; the client opens that socket with `?token=...` and
SocketAuthMiddleware (middleware.py) logs it in. A token is signed with SECRET_KEY (django.core.signing): it
cannot be forged or altered. It is refused:
- after MAX_AGE_SECONDS;
- on any socket path but the one it names (its audience: a path, or a prefix ending with "/");
- once the user's password changes, the user is deactivated or deleted;
- once the user logs out anywhere (revoke_tokens(): a per-user marker in Django's cache that every token
  issued before the logout lacks; the marker lives MAX_AGE_SECONDS, as long as those tokens would).
A token issued to a logged-in session also names that session (logins.session_id): its socket is closed when
that session logs out, like a socket opened with the session cookie.
"""

import logging
import secrets
from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.cache import cache
from django.utils.crypto import constant_time_compare

from {{ cookiecutter.project_slug }}.health import misconfiguration, unreachable_errors

MAX_AGE_SECONDS = 60  # only needed to open the socket; an open socket stays logged in until its login ends
SALT = "{{ cookiecutter.project_slug }}.ws-token"
MAX_PATH_LENGTH = 200

logger = logging.getLogger(__name__)


def clean_socket_path(path: object) -> str:
    """`path` if it can be a token's audience: a socket path ("/ws/notifications/") or a prefix ending with "/"
    ("/ws/" for every socket). Raises ValueError saying what is wrong otherwise."""
    if not isinstance(path, str) or not path:
        raise ValueError('Say which socket the token is for: "path", e.g. "/ws/notifications/".')
    if not path.startswith("/") or len(path) > MAX_PATH_LENGTH:
        raise ValueError(f'"path" must start with "/" and have at most {MAX_PATH_LENGTH} characters.')
    if any(character in path for character in "?#") or any(character.isspace() for character in path):
        raise ValueError('"path" is a socket path only: no query string, fragment or spaces.')
    if any(segment in {".", ".."} for segment in path.split("/")):
        raise ValueError('"path" must not contain "." or ".." segments.')
    return path


def path_in_audience(path: str, audience: str) -> bool:
    """Whether a socket at `path` may use a token issued for `audience` (the same path, or under a prefix
    ending with "/")."""
    if any(segment in {".", ".."} for segment in path.split("/")):
        return False
    return path == audience or (audience.endswith("/") and path.startswith(audience))


def make_token(user: AbstractBaseUser, path: str, session_id: str | None = None) -> str:
    """A token that logs `user` in on the sockets at `path` (see clean_socket_path; ValueError if invalid) for
    MAX_AGE_SECONDS. `session_id` (logins.session_id of the session it was issued to) ties the socket to that
    session's logout."""
    data: dict[str, Any] = {"id": user.pk, "auth": user.get_session_auth_hash(), "aud": clean_socket_path(path)}
    marker = revocation_marker(user.pk)
    if marker is not None:
        data["rev"] = marker
    if session_id:
        data["sid"] = session_id
    return signing.dumps(data, salt=SALT, compress=True)


def login_for_token_sync(token: str, path: str) -> tuple[AbstractBaseUser | AnonymousUser, str | None]:
    """(user, session_id) for a token presented on the socket at `path`: the active user it names and the
    session it was issued to (None if issued for a password), or (AnonymousUser, None) when the token is
    forged, altered, expired, revoked or issued for another path. Logs why, never the token itself. Raises
    health.unreachable_errors()'s errors when the cache holding logouts cannot be reached (revocation_marker)."""
    anonymous = AnonymousUser(), None
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        logger.info("Socket token expired: connecting as anonymous.")
        return anonymous
    except signing.BadSignature:
        logger.warning("Socket token has a bad signature (forged, altered or truncated): connecting as anonymous.")
        return anonymous
    if not isinstance(data, dict) or not isinstance(data.get("aud"), str):
        return anonymous
    if not path_in_audience(path, data["aud"]):
        logger.warning("Socket token for %r used on %r: connecting as anonymous.", data["aud"], path)
        return anonymous
    try:
        user = get_user_model()._default_manager.get(pk=data["id"])
    except (get_user_model().DoesNotExist, KeyError, TypeError, ValueError):
        return anonymous
    if not user.is_active or not constant_time_compare(user.get_session_auth_hash(), data.get("auth", "")):
        return anonymous
    if data.get("rev") != revocation_marker(user.pk, checking=True):
        logger.info("Socket token issued before the user logged out: connecting as anonymous.")
        return anonymous
    return user, data.get("sid")


def user_for_token_sync(token: str, path: str) -> AbstractBaseUser | AnonymousUser:
    """The user login_for_token_sync() finds (AnonymousUser for a token that is refused)."""
    return login_for_token_sync(token, path)[0]


login_for_token = database_sync_to_async(login_for_token_sync)


def revoke_tokens(user_or_id: object) -> None:
    """Refuse every token of this user issued until now (a logout calls this). Raises what the cache raises."""
    user_id = getattr(user_or_id, "pk", user_or_id)
    cache.set(marker_key(user_id), secrets.token_hex(8), timeout=MAX_AGE_SECONDS + 1)


def marker_key(user_id: object) -> str:
    return f"ws-token-revoked:{user_id}"


def revocation_marker(user_id: object, *, checking: bool = False) -> str | None:
    """The user's current marker (None: no logout within MAX_AGE_SECONDS).

    A cache that cannot be reached (health.unreachable_errors()): when issuing, None (the token is still signed, one
    warning line); when `checking` a presented token, the error is raised, so health.DependencyGuard closes the
    socket with 1013 (try again later) and the page reopens it once Redis is back, instead of an anonymous socket
    or a 4401 that would end its retries. Any other cache error refuses the token (checking: "")."""
    try:
        marker: str | None = cache.get(marker_key(user_id))
        return marker
    except unreachable_errors() as error:
        if checking:
            raise
        fix = misconfiguration(error)  # a refused password is a ConnectionError too
        logger.warning("Socket token issued without the cache: %s.", fix or f"the cache is unreachable ({error})")
        return None
    except Exception:
        logger.exception("The cache failed: socket tokens are refused until it works.")
        return "" if checking else None
