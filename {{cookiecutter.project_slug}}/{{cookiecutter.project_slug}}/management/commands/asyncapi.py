"""`python manage.py asyncapi`: print the AsyncAPI 3.0 document of every socket (asyncapi.py) as JSON.

    python manage.py asyncapi > asyncapi.json
    python manage.py asyncapi --host example.org --protocol wss

`--host` and `--protocol` make its `servers` entry (by default 127.0.0.1:8000, ws).
"""

import json

from django.core.management.base import BaseCommand

from {{ cookiecutter.project_slug }}.asyncapi import describe


class Command(BaseCommand):
    help = "Print the AsyncAPI 3.0 description of every socket route (paths, messages, JSON Schemas, close codes)."
    requires_system_checks: list[str] = []  # it only reads the routes: no database, no Redis

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1:8000", help="the server's host[:port] (default: %(default)s)")
        parser.add_argument("--protocol", default="ws", choices=["ws", "wss"], help="ws, or wss behind HTTPS")

    def handle(self, *args, host, protocol, **options):
        self.stdout.write(json.dumps(describe(host, protocol), indent=2))
