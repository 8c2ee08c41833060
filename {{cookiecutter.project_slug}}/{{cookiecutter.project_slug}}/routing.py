"""WebSocket routes and background workers of every app in settings.PROJECT_APPS.

Each app's routing.py may define `websocket_urlpatterns` (a list of paths) and `channel_workers`
(a dict: channel name -> consumer). A socket whose path matches no route is closed with code 4404.
"""

from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.urls import re_path
from django.utils.module_loading import module_has_submodule

from {{ cookiecutter.project_slug }}.consumers import NotFoundConsumer


def app_routing_modules():
    """The routing module of each project app that has one (an error inside one surfaces)."""
    configs = [apps.get_app_config(app) for app in settings.PROJECT_APPS]
    return [
        import_module(f"{config.name}.routing") for config in configs if module_has_submodule(config.module, "routing")
    ]


websocket_urlpatterns = [
    *(route for module in app_routing_modules() for route in getattr(module, "websocket_urlpatterns", [])),
    re_path(r"", NotFoundConsumer.as_asgi()),
]

channel_workers = {
    name: consumer
    for module in app_routing_modules()
    for name, consumer in getattr(module, "channel_workers", {}).items()
}
