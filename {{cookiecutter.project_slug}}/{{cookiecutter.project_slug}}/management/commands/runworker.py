"""Channels' runworker with layers/worker.py's BoundedWorker, refusing the in-memory layer (where it could only
wait forever) and a channel no app declares in `channel_workers`, and outliving Redis: it waits for Redis before
it starts, and when it loses Redis while running it reconnects, instead of exiting. A setting Redis refuses (a
wrong password, no such database, an address that is no sentinel) stops it with one line naming the variable."""

from channels import DEFAULT_CHANNEL_LAYER
from channels.management.commands.runworker import Command as ChannelsRunworker
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError

from {{ cookiecutter.project_slug }} import health
from {{ cookiecutter.project_slug }}.health import misconfiguration, unreachable_errors, wait_for_channel_layer
from {{ cookiecutter.project_slug }}.layers import is_in_memory
from {{ cookiecutter.project_slug }}.layers.worker import BoundedWorker
from {{ cookiecutter.project_slug }}.routing import channel_workers


class Command(ChannelsRunworker):
    # Takes a job off the layer only when it can run it; on SIGTERM finishes or hands back the running one.
    worker_class = BoundedWorker

    def handle(self, *args, **options):
        layer = options.get("layer", DEFAULT_CHANNEL_LAYER)
        if is_in_memory(layer):
            raise CommandError(
                "runworker cannot work with the in-memory channel layer: it lives inside the server process, "
                "so this worker would never receive a message. The server already runs the workers itself "
                "in this mode. To run workers in their own processes, set REDIS_URL (README: Switch to Redis)."
            )
        unknown = [name for name in options.get("channels", []) if name not in channel_workers]
        if unknown:
            # Channels' own runworker would start, log a traceback per message for the unknown channel, and idle.
            declared = ", ".join(sorted(channel_workers)) or "none: no app's routing.py declares channel_workers"
            raise CommandError(f"No worker is declared for {', '.join(unknown)}. Declared workers: {declared}.")
        health.process_kind = health.WORKER  # what its "Not ready" lines say a lost dependency costs
        while True:
            try:
                wait_for_channel_layer(layer, log=self.say)
            except ImproperlyConfigured as error:  # a wrong password...: waiting would never end
                raise CommandError(str(error)) from None
            try:
                return super().handle(*args, **options)
            except unreachable_errors() as error:
                fix = misconfiguration(error)  # a refused password is a ConnectionError too
                if fix:
                    raise CommandError(f"runworker stopped: {fix}.") from None
                # Messages already taken off Redis by this worker are lost with it; new ones wait in Redis.
                self.say(f"runworker lost Redis ({error}); reconnecting.")

    def say(self, line):
        self.stderr.write(line)
        self.stderr.flush()
