"""Push JSON to every socket a user has open, from anywhere in the project.

A socket that wants pushes joins `user_group(topic, user)` (see PushConsumer in consumers.py); code that
pushes sends one `push.message` event to that group. One user with three tabs gets it in all three.
Topics keep features apart: a notification does not land on a task-progress socket.

With the in-memory channel layer only code running inside the server process reaches its sockets; with
Redis any process does (a shell, a management command, a worker).
"""

import hashlib
import json
import re

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

# Channels accepts group names of ASCII letters, digits, `.`, `_` and `-` shorter than 100 characters.
SAFE_PART = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
PUSH_EVENT = "push.message"


def user_group(topic, user_or_id):
    """The group a user's sockets for `topic` join; user_or_id is a user or a primary key (int, str, UUID)."""
    user_id = getattr(user_or_id, "pk", user_or_id)
    if user_id is None:
        raise ValueError("Cannot push to a user that has no primary key (anonymous or not saved).")
    return f"{check_topic(topic)}.user.{safe_part(str(user_id))}"


def topic_group(topic):
    """The group every socket of a topic joins, for broadcasts."""
    return f"{check_topic(topic)}.all"


def check_topic(topic):
    if not SAFE_PART.match(topic):
        raise ValueError(f"A topic is 1-40 ASCII letters, digits, '_' or '-': {topic!r}.")
    return topic


def safe_part(value):
    """Primary keys may hold anything (a custom user model's string key): hash the ones unfit for a name."""
    return value if SAFE_PART.match(value) else "h" + hashlib.sha256(value.encode()).hexdigest()[:32]


async def apush(group, payload):
    """Send `payload` (anything JSON can encode) to every socket in `group`."""
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as error:
        # Fail here, in the caller's code, rather than in each consumer where nobody would see it.
        raise TypeError(f"A push payload must be JSON-serializable: {error}") from None
    await get_channel_layer().group_send(group, {"type": PUSH_EVENT, "payload": payload})


def push(group, payload):
    """Synchronous apush(), for views, management commands and the shell (not for async code: await apush)."""
    async_to_sync(apush)(group, payload)
