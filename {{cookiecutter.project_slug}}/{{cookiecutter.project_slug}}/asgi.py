"""The root router: every connection to the server starts here.

http       -> Django (static files too while DEBUG, since uvicorn serves none)
websocket  -> Origin check (Django's CSRF rule) -> user (?token= or session cookie) -> open-socket cap per user
           (4409) -> close at the login's end
           -> the routes of every app in settings.PROJECT_APPS
           (middleware.py; a refused Origin is logged with the reason); every socket is closed before the
           layer's group_expiry could drop its group memberships (close code 4408: pages reconnect)
channel    -> named background workers (python manage.py runworker NAME)
lifespan   -> checks the channel layer at start, runs in-process workers (lifespan.py)
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings")
# Created first: it sets Django up, so the consumers imported below may import models.
django_asgi_app = get_asgi_application()

from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from {{ cookiecutter.project_slug }}.health import DependencyGuard  # noqa: E402
from {{ cookiecutter.project_slug }}.lifespan import lifespan  # noqa: E402
from {{ cookiecutter.project_slug }}.middleware import (  # noqa: E402
    LoginLifetimeMiddleware,
    SameOriginMiddleware,
    SocketAuthMiddleware,
    SocketCapMiddleware,
    SocketLifetimeMiddleware,
)
from {{ cookiecutter.project_slug }}.routing import channel_workers, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app,
        # DependencyGuard: a socket failing because Redis is away is closed with 1013 and one log line.
        "websocket": DependencyGuard(
            SocketLifetimeMiddleware(
                SameOriginMiddleware(
                    SocketAuthMiddleware(SocketCapMiddleware(LoginLifetimeMiddleware(URLRouter(websocket_urlpatterns))))
                )
            )
        ),
        # A worker's consumer failing because Redis is away: one log line (runworker then waits for Redis).
        "channel": DependencyGuard(ChannelNameRouter(channel_workers)),
        "lifespan": lifespan,
    }
)
