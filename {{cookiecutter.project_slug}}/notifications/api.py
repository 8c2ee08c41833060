"""Push notifications from anywhere: views, the shell, management commands, consumers, workers.

    from notifications.api import notify_user, broadcast
    notify_user(request.user, {"message": "Your export is ready"})   # every tab of that user
    broadcast({"message": "Deploying in 5 minutes"})                  # every notifications socket

In async code await anotify_user(...) / abroadcast(...) instead. Payloads are anything JSON can encode;
the demo page shows a payload's "message". With the in-memory channel layer only code running inside the
server process reaches its sockets; set REDIS_URL to push from other processes.
"""

from {{ cookiecutter.project_slug }}.push import apush, push, topic_group, user_group

TOPIC = "notifications"


def notify_user(user_or_id, payload):
    push(user_group(TOPIC, user_or_id), payload)


def broadcast(payload):
    push(topic_group(TOPIC), payload)


async def anotify_user(user_or_id, payload):
    await apush(user_group(TOPIC, user_or_id), payload)


async def abroadcast(payload):
    await apush(topic_group(TOPIC), payload)
