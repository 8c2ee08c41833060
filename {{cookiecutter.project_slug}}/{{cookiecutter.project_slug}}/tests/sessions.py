"""Browser sessions for tests that need several users logged in at once."""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client


async def log_in(user):
    """A new browser session logged in as `user`: (its test Client, its Cookie header value "sessionid=...").

    Each call is a session of its own: logging another user in through one Client would end that Client's
    session, and with it the sockets opened on its cookie."""
    client = Client()
    await sync_to_async(client.force_login)(user)
    return client, f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def cookie_for(user):
    """The Cookie header value of a new session logged in as `user` (log_in)."""
    return (await log_in(user))[1]
