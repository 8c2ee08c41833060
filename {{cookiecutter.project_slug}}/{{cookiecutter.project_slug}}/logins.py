"""A socket lives as long as the login that opened it.

Every socket of a logged-in user joins two groups (LoginLifetimeMiddleware in middleware.py does it for every
consumer): the user's, and the login session's (the session cookie's, or the session a socket token was issued
to). One LOGIN_ENDED event sent to a group closes its sockets with UNAUTHORIZED (4401):
- logout (Django's `user_logged_out` signal): that session's sockets; a logout without a request
  (channels.auth.logout) ends every socket of the user. It also revokes the user's unused socket tokens.
- password change, deactivation (`is_active` saved False) and deletion of the user: every socket of the user.
Saves through QuerySet.update() send no signal: call end_logins(user) after them.

apps.py connects the receivers below. The events cross processes on Redis; the in-memory layer reaches the
sockets of its own process only, as for every other group message.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils.crypto import salted_hmac

from {{ cookiecutter.project_slug }}.groups import group_name
from {{ cookiecutter.project_slug }}.tokens import revoke_tokens

LOGIN_ENDED = "login.ended"
# A pre_save receiver notes this on a user whose password or is_active changes; post_save acts on it.
ENDS_LOGINS = "_{{ cookiecutter.project_slug }}_ends_logins"

logger = logging.getLogger(__name__)


def session_id(session_key):
    """A name for a login session that does not reveal its key (group names end up in Redis and logs). The
    algorithm is explicit (Django 6.1 deprecates the default): the same name on every Django version."""
    digest = salted_hmac("{{ cookiecutter.project_slug }}.login-session", session_key, algorithm="sha1")
    return digest.hexdigest()[:32]


def user_group(user_or_id):
    """The group every socket of a logged-in user joins; user_or_id is a user or a primary key."""
    user_id = getattr(user_or_id, "pk", user_or_id)
    if user_id is None:
        raise ValueError("A login group needs a saved user (or its primary key).")
    return group_name("login", "user", user_id)


def session_group(login_session_id):
    """The group the sockets of one login session join (`login_session_id` from session_id())."""
    return group_name("login", "session", login_session_id)


async def aend_logins(user_or_id=None, session_key=None):
    """Close with 4401 every socket of the user (`user_or_id`), or of one login session (`session_key`, the
    session's key). Raises what the channel layer raises (Redis unreachable)."""
    groups = []
    if user_or_id is not None:
        groups.append(user_group(user_or_id))
    if session_key:
        groups.append(session_group(session_id(session_key)))
    layer = get_channel_layer()
    assert layer is not None  # settings.CHANNEL_LAYERS always names one
    for group in groups:
        await layer.group_send(group, {"type": LOGIN_ENDED})


def end_logins(user_or_id=None, session_key=None):
    """Synchronous aend_logins(), for views, signal receivers and management commands."""
    async_to_sync(aend_logins)(user_or_id, session_key)


def end_after_commit(user_or_id=None, session_key=None):
    # After the commit, so a socket reconnecting at once sees the saved change; robust, so an unreachable
    # Redis is logged instead of failing the logout or the save.
    transaction.on_commit(lambda: end_logins(user_or_id, session_key), robust=True)


def on_logout(sender, request, user, **kwargs):
    if user is None:
        return
    try:
        revoke_tokens(user)
    except Exception:
        logger.exception("Could not revoke the socket tokens of user %s: the cache is unreachable.", user.pk)
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        end_after_commit(session_key=session.session_key)
    else:
        end_after_commit(user_or_id=user.pk)


def note_login_changes(sender, instance, raw=False, update_fields=None, **kwargs):
    """pre_save: remember whether this save changes the password or deactivates the user."""
    if raw or instance.pk is None or instance._state.adding:
        return
    fields = [name for name in ("password", "is_active") if has_field(sender, name)]
    if update_fields is not None:
        fields = [name for name in fields if name in update_fields]
    if not fields:
        return
    before = sender._default_manager.filter(pk=instance.pk).values(*fields).first()
    if before is None:
        return
    changed = "password" in fields and before["password"] != instance.password
    deactivated = "is_active" in fields and before["is_active"] and not instance.is_active
    if changed or deactivated:
        setattr(instance, ENDS_LOGINS, True)


def on_user_saved(sender, instance, created=False, **kwargs):
    if getattr(instance, ENDS_LOGINS, False):
        delattr(instance, ENDS_LOGINS)
        end_after_commit(user_or_id=instance.pk)


def on_user_deleted(sender, instance, **kwargs):
    if instance.pk is not None:
        end_after_commit(user_or_id=instance.pk)


def has_field(model, name):
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True
