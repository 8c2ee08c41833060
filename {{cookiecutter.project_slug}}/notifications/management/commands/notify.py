from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import ConnectionError as RedisConnectionError

from {{ cookiecutter.project_slug }}.health import misconfiguration
from {{ cookiecutter.project_slug }}.layers import is_in_memory

from ...api import broadcast, notify_user

IN_MEMORY_EXPLAINED = (
    "The channel layer is in-memory: it lives inside the server process, and this command runs in another "
    "process, so nothing it sends could reach a socket. Set REDIS_URL (README: Switch to Redis) and restart "
    "the server, or push from code that runs in the server (a view, a consumer) with notifications.api."
)


class Command(BaseCommand):
    help = "Push a notification to one user's open notification pages, or to everyone's."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--user", metavar="USERNAME", help="the user to notify (all of their open tabs)")
        target.add_argument("--all", action="store_true", help="every open notifications socket")
        parser.add_argument("message", help="the text to show")

    def handle(self, *args, user, all, message, **options):
        if is_in_memory():
            raise CommandError(IN_MEMORY_EXPLAINED)
        if not message.strip():
            raise CommandError("The message is empty.")
        payload = {"message": message, "from": "manage.py notify"}
        if all:
            self.send(broadcast, payload)
            self.stdout.write(self.style.SUCCESS("Broadcast to every notifications socket."))
            return
        User = get_user_model()
        try:
            recipient = User.objects.get_by_natural_key(user)
        except User.DoesNotExist:
            raise CommandError(f"No user named {user!r}.") from None
        self.send(notify_user, recipient, payload)
        kept = f"Sent to {user}: kept, and shown on their open notification pages (or when a page reconnects)."
        self.stdout.write(self.style.SUCCESS(kept))

    def send(self, push, *args):
        try:
            push(*args)
        except RedisConnectionError as error:
            fix = misconfiguration(error)  # a wrong password is a ConnectionError too
            if fix:
                raise CommandError(f"{fix[0].upper()}{fix[1:]}.") from None
            reason = str(error).strip()
            reason += "" if reason.endswith((".", "!", "?")) else "."
            raise CommandError(
                f"Cannot reach Redis: {reason} Is Redis running where REDIS_URL (or REDIS_SENTINELS) points?"
            ) from None
        except ValueError as error:  # a NUL character, which a kept notification cannot hold (history.py)
            raise CommandError(str(error)) from None
