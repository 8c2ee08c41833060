"""`manage.py demo_user`: a development login, `demo` (a superuser), with a fresh random password it prints.

Run it again to reset the password. It refuses without DEBUG (DJANGO_DEBUG=true, as in the development .env),
so a production deployment never gets a user whose password was printed in a terminal.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create or reset the development user `demo` (a superuser) with a new random password, and print it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", help="this password instead of a random one")

    def handle(self, *args, username, password, **options):
        if not settings.DEBUG:
            raise CommandError("demo_user is for development only: it runs with DJANGO_DEBUG=true.")
        password = password or secrets.token_urlsafe(9)
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: username})
        user.is_active = user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"{'Created' if created else 'Reset'} the development user (a superuser: the admin too):\n"
            f"    username: {username}\n    password: {password}"
        )
