from {{ cookiecutter.project_slug }}.consumers import NoDbCleanupMixin
from {{ cookiecutter.project_slug }}.push import PushConsumer

from .api import TOPIC


class NotificationConsumer(NoDbCleanupMixin, PushConsumer):
    """Logged-in users only (others are closed with 4401); receives notify_user() and broadcast() payloads.

    The socket only talks server -> client: a frame from the client gets {"error": ...}.
    """

    topic = TOPIC
    broadcasts = True

    async def receive_json(self, content, **kwargs):
        await self.send_error("This socket only delivers notifications; send them with notifications.api.")
