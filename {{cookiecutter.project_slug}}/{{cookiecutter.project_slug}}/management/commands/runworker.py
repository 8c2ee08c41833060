"""Channels' runworker, refusing to start where it could only wait forever: on the in-memory layer."""

from channels.management.commands.runworker import Command as ChannelsRunworker
from django.core.management import CommandError

from {{ cookiecutter.project_slug }}.workers import layer_is_in_memory


class Command(ChannelsRunworker):
    def handle(self, *args, **options):
        if options.get("layer", "default") == "default" and layer_is_in_memory():
            raise CommandError(
                "runworker cannot work with the in-memory channel layer: it lives inside the server process, "
                "so this worker would never receive a message. The server already runs the workers itself "
                "in this mode. To run workers in their own processes, set REDIS_URL (README: Switch to Redis)."
            )
        super().handle(*args, **options)
