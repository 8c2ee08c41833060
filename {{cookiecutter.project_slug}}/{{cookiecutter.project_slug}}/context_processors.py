"""What every page's template (base.html) needs: the project's name, its apps' pages, whether this is development."""

from django.apps import apps
from django.conf import settings
from django.urls import NoReverseMatch, reverse


def project(request):
    """`project_name` (the project app's verbose_name, also the admin's header), `project_pages` (each
    project app with an `index` URL: the navigation) and `development` (DEBUG: pages may show setup hints)."""
    pages = []
    for app in settings.PROJECT_APPS:
        try:
            url = reverse(f"{app}:index")
        except NoReverseMatch:
            continue
        current = request.path.startswith(url)
        pages.append({"url": url, "name": apps.get_app_config(app).verbose_name, "current": current})
    return {
        "project_name": apps.get_containing_app_config(__name__).verbose_name,
        "project_pages": pages,
        "development": settings.DEBUG,
    }
