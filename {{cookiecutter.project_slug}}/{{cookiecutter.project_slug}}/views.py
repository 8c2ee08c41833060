from django.apps import apps
from django.conf import settings
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse


def home(request):
    """List the project apps that have a page (an `index` URL) so removing an app removes its link."""
    demos = []
    for app in settings.PROJECT_APPS:
        try:
            url = reverse(f"{app}:index")
        except NoReverseMatch:
            continue
        config = apps.get_app_config(app)
        demos.append({"url": url, "name": config.verbose_name, "about": getattr(config, "about", "")})
    return render(request, "home.html", {"demos": demos})
