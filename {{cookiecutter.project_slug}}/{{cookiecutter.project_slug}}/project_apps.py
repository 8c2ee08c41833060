"""Find a given module (urls, routing) in each app of settings.PROJECT_APPS."""

from importlib import import_module
from importlib.util import find_spec

from django.conf import settings


def app_modules(module_name):
    """Yield (app, module) for each project app that has `<app>.<module_name>`; import errors surface."""
    for app in settings.PROJECT_APPS:
        if find_spec(f"{app}.{module_name}") is not None:
            yield app, import_module(f"{app}.{module_name}")
