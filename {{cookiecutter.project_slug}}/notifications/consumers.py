from {{ cookiecutter.project_slug }}.consumers import NoDbCleanupMixin
from {{ cookiecutter.project_slug }}.push import PushConsumer

from .api import TOPIC


class NotificationConsumer(NoDbCleanupMixin, PushConsumer):
    """Logged-in users only (others are closed with 4401); receives notify_user() and broadcast() payloads.

    Server -> client: each payload as it was pushed, e.g. {"message": "text", "from": "alice"}. The socket only
    talks server -> client: a frame from the client gets {"error": ...}.

    A user's notifications are kept (`kept`, history.py): a socket opened with `?since=recent` (the page when it
    opens) first gets the user's last `recent` (50) notifications, one opened with `?since=N` every one after seq N
    still kept (the page when it reconnects); those payloads carry their "seq" ({"message": "text", "from":
    "alice", "seq": 3}), each once, in order. Then {"caught_up": n}, then live ones; {"missed": {"first": a,
    "last": b}} in place of those no longer kept, {"error": "why"} for a bad `since` (the socket then starts as
    with since=recent). Broadcasts are live only and never carry a "seq".
    """

    topic = TOPIC
    broadcasts = True
    kept = True
    # It accepts no frame (JsonConsumer answers each with {"error": ...}), and sends the payloads above.
    contract = "notifications.contracts.NOTIFICATIONS"
