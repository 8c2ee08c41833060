"""Push notifications from anywhere: views, the shell, management commands, consumers, workers.

    from notifications.api import notify_user, broadcast
    notify_user(request.user, {"message": "Your export is ready"})   # every tab of that user
    broadcast({"message": "Deploying in 5 minutes"})                  # every notifications socket

In async code await anotify_user(...) / abroadcast(...) instead. The demo page shows a payload's "message".

A user's notifications are kept (history.py, the stream user_group(TOPIC, user), its last settings.HISTORY_KEEP):
a page that was reconnecting when one was sent gets it when it is back, and a page that opens shows the recent
ones. So their payload is a JSON object (a dict, without a "seq" key); inside transaction.atomic() notify_user()
stores it with the transaction and sends it once that commits. Broadcasts are live only, to the sockets open when
they are sent, and may be anything JSON can encode. With the in-memory channel layer only code running inside the
server process reaches its sockets; set REDIS_URL to push from other processes.
"""

from {{ cookiecutter.project_slug }}.push import apush, push, topic_group, user_group

TOPIC = "notifications"


def notify_user(user_or_id, payload):
    push(user_group(TOPIC, user_or_id), payload, keep=True)


def broadcast(payload):
    push(topic_group(TOPIC), payload)


async def anotify_user(user_or_id, payload):
    await apush(user_group(TOPIC, user_or_id), payload, keep=True)


async def abroadcast(payload):
    await apush(topic_group(TOPIC), payload)
