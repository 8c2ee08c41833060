"""WebSocket middleware: `?token=<signed token>` in the socket URL sets scope["user"] (see tokens.py).

Without a token the user is whatever the session cookie says. With a token that is forged, altered or
expired the user is anonymous, even if a session cookie is present: a client that sends a token means it.
"""

import logging
import re
from urllib.parse import parse_qs

from channels.middleware import BaseMiddleware

from {{ cookiecutter.project_slug }}.tokens import user_for_token

TOKEN_IN_URL = re.compile(r"(token=)[^&\s\"]+")


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            scope = {**scope, "user": await user_for_token(query["token"][-1])}
        return await super().__call__(scope, receive, send)


class RedactTokens(logging.Filter):
    """Servers log each socket's URL, query string included: keep tokens out of the logs."""

    def filter(self, record):
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(TOKEN_IN_URL.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        return True


# uvicorn logs "WebSocket /path?query [accepted]" on this logger.
logging.getLogger("uvicorn.error").addFilter(RedactTokens())
