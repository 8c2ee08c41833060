"""WebSocket routes and background workers of every app in settings.PROJECT_APPS.

Each app's routing.py may define `websocket_urlpatterns` (a list of paths) and `channel_workers`
(a dict: channel name -> consumer). A socket whose path matches no route is closed with code 4404.
"""

from django.urls import re_path

from {{ cookiecutter.project_slug }}.consumers import NotFoundConsumer
from {{ cookiecutter.project_slug }}.project_apps import app_modules

websocket_urlpatterns = [
    route for _, module in app_modules("routing") for route in getattr(module, "websocket_urlpatterns", [])
]
websocket_urlpatterns.append(re_path(r"", NotFoundConsumer.as_asgi()))

channel_workers = {
    name: consumer
    for _, module in app_modules("routing")
    for name, consumer in getattr(module, "channel_workers", {}).items()
}
