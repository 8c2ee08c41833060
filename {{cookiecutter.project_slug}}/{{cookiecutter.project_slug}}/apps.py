import logging

from django.apps import AppConfig
from django.core.checks import Tags, register


class ProjectConfig(AppConfig):
    name = "{{ cookiecutter.project_slug }}"
    verbose_name = "{{ cookiecutter.project_name }}"

    def ready(self):
        from django.contrib import admin
        from django.contrib.auth import get_user_model, user_logged_out, user_login_failed
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_delete, post_save, pre_save

        from . import checks, logins, privacy, ratelimit
        from .health import QuietProbes
        from .layers import dispatch
        from .middleware import LOGGERS_WITH_URLS, RedactTokens

        # Channels' consumer loop without a task per message (layers/dispatch.py).
        dispatch.install()

        register(checks.check_patched_libraries, checks.LIBRARIES_TAG)
        register(checks.check_memory_layer_has_one_process, checks.TAG)
        register(checks.check_layer_class, checks.TAG)
        # I/O, so only when asked (`check --deploy`); servers and runworker probe Redis themselves.
        register(checks.check_redis_reachable, checks.TAG, deploy=True)

        register(checks.check_allowed_hosts, Tags.security, deploy=True)
        register(checks.check_private_files, Tags.security, deploy=True)

        # Sockets close when their login ends (logins.py).
        user_model = get_user_model()
        user_logged_out.connect(logins.on_logout, dispatch_uid="{{ cookiecutter.project_slug }}.logins")
        pre_save.connect(logins.note_login_changes, sender=user_model, dispatch_uid="{{ cookiecutter.project_slug }}.logins")
        post_save.connect(logins.on_user_saved, sender=user_model, dispatch_uid="{{ cookiecutter.project_slug }}.logins")
        post_delete.connect(logins.on_user_deleted, sender=user_model, dispatch_uid="{{ cookiecutter.project_slug }}.logins")
        # Login rate limits (ratelimit.py): count failures; the admin's login page says when to retry.
        user_login_failed.connect(ratelimit.count_failure, dispatch_uid="{{ cookiecutter.project_slug }}.ratelimit")
        admin.site.login_form = ratelimit.AdminLoginForm
        # The admin says the project's name, not "Django administration".
        admin.site.site_header = admin.site.site_title = self.verbose_name
        admin.site.index_title = "Administration"
        # The SQLite file is its owner's only (privacy.py).
        connection_created.connect(privacy.make_database_private, dispatch_uid="{{ cookiecutter.project_slug }}.privacy")

        for name in LOGGERS_WITH_URLS:
            server_logger = logging.getLogger(name)
            if not any(isinstance(existing, RedactTokens) for existing in server_logger.filters):
                server_logger.addFilter(RedactTokens())
        # Health probes every few seconds stay out of the access log and Django's request log (health.py).
        for name in ("uvicorn.access", "django.request"):
            probe_logger = logging.getLogger(name)
            if not any(isinstance(existing, QuietProbes) for existing in probe_logger.filters):
                probe_logger.addFilter(QuietProbes())
