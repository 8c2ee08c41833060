"""The root router: every connection to the server starts here.

http       -> Django (static files too while DEBUG, since uvicorn serves none)
websocket  -> Origin check -> session/auth -> ?token= auth -> the routes of every app in settings.PROJECT_APPS
           (a refused Origin is logged with the reason: origin.py)
channel    -> named background workers (python manage.py runworker NAME)
lifespan   -> answered, so servers that send it start cleanly
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings")
# Created first: it sets Django up, so the consumers imported below may import models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from {{ cookiecutter.project_slug }}.lifespan import lifespan  # noqa: E402
from {{ cookiecutter.project_slug }}.origin import LoggingAllowedHostsOriginValidator  # noqa: E402
from {{ cookiecutter.project_slug }}.routing import channel_workers, websocket_urlpatterns  # noqa: E402
from {{ cookiecutter.project_slug }}.token_auth import TokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_asgi_app) if settings.DEBUG else django_asgi_app,
        "websocket": LoggingAllowedHostsOriginValidator(
            AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
        "channel": ChannelNameRouter(channel_workers),
        "lifespan": lifespan,
    }
)
