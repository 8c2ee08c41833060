"""What every page's template (base.html) needs: the project's name, its apps' pages, whether this is development."""

from django.apps import apps
from django.conf import settings
from django.urls import NoReverseMatch, reverse


def app_pages():
    """(app config, URL) of each app in PROJECT_APPS that has a page (an `index` URL), in PROJECT_APPS order."""
    pages = []
    for app in settings.PROJECT_APPS:
        try:
            pages.append((apps.get_app_config(app), reverse(f"{app}:index")))
        except NoReverseMatch:
            continue
    return pages


def project(request):
    """`project_name` (the project app's verbose_name, also the admin's header), `project_pages` (each
    project app with an `index` URL: the navigation) and `development` (DEBUG: pages may show setup hints)."""
    pages = [
        {"url": url, "name": config.verbose_name, "current": request.path.startswith(url)}
        for config, url in app_pages()
    ]
    project = apps.get_containing_app_config(__name__)
    assert project is not None  # this module is in the project app
    return {
        "project_name": project.verbose_name,
        "project_pages": pages,
        "development": settings.DEBUG,
    }
