"""Short-lived signed tokens for clients that cannot send the session cookie (scripts, mobile apps).

POST /api/ws-token/ hands one out; the client opens a socket with `?token=...` and TokenAuthMiddleware
logs it in. A token is signed with SECRET_KEY (django.core.signing): it cannot be forged or altered, it
expires after MAX_AGE_SECONDS, and it dies early when the user's password changes.
"""

import logging

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.utils.crypto import constant_time_compare

MAX_AGE_SECONDS = 60  # only needed to open the socket; an open socket stays logged in
SALT = "{{ cookiecutter.project_slug }}.ws-token"

logger = logging.getLogger(__name__)


def make_token(user):
    return signing.dumps({"id": user.pk, "auth": user.get_session_auth_hash()}, salt=SALT, compress=True)


def user_for_token_sync(token):
    """The active user a valid token names, or AnonymousUser. Never logs the token itself."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        logger.info("Socket token expired: connecting as anonymous.")
        return AnonymousUser()
    except signing.BadSignature:
        logger.warning("Socket token has a bad signature (forged, altered or truncated): connecting as anonymous.")
        return AnonymousUser()
    try:
        user = get_user_model()._default_manager.get(pk=data["id"])
    except (get_user_model().DoesNotExist, KeyError, TypeError, ValueError):
        return AnonymousUser()
    if not user.is_active or not constant_time_compare(user.get_session_auth_hash(), data.get("auth", "")):
        return AnonymousUser()
    return user


user_for_token = database_sync_to_async(user_for_token_sync)
