"""The Origin check of every socket, saying in the log why it refused one.

Channels' AllowedHostsOriginValidator refuses a socket whose Origin header is missing or names a host outside
ALLOWED_HOSTS, but logs nothing: the client sees a 403 handshake and the server log only "403 Forbidden".
"""

import logging

from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator

logger = logging.getLogger(__name__)


class LoggingOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin):
        if super().valid_origin(parsed_origin):
            return True
        if parsed_origin is None:
            logger.warning(
                "WebSocket refused: no Origin header. Browsers always send one; other clients must send an "
                "Origin whose host is in DJANGO_ALLOWED_HOSTS (%s).",
                ",".join(self.allowed_origins),
            )
        else:
            logger.warning(
                "WebSocket refused: Origin %r is not in DJANGO_ALLOWED_HOSTS (%s).",
                parsed_origin.geturl(),
                ",".join(self.allowed_origins),
            )
        return False


def LoggingAllowedHostsOriginValidator(application):
    """AllowedHostsOriginValidator (the same hosts, DEBUG fallback included) that logs each refusal."""
    return LoggingOriginValidator(application, AllowedHostsOriginValidator(application).allowed_origins)
