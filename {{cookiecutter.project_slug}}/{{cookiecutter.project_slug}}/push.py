"""Push JSON to every socket a user has open, from anywhere in the project.

A socket that wants pushes is a PushConsumer: it joins `user_group(topic, user)`. Code that pushes sends one
`push.message` event to that group with push() or apush(). One user with three tabs gets it in all three. Topics
keep features apart: a notification does not land on a task-progress socket.

With the in-memory channel layer only code running inside the server process reaches its sockets; with
Redis any process does (a shell, a management command, a worker).

A push is live: a socket that is not open when it is sent never sees it. `keep=True` stores it too, in the
history stream named after the group (history.py), and a PushConsumer with `kept = True` catches up on those a
page missed while it was reconnecting (notifications do; task progress, which is stale a moment later, does not).
"""

import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from {{ cookiecutter.project_slug }} import history
from {{ cookiecutter.project_slug }}.consumers import UNAUTHORIZED, JsonConsumer
from {{ cookiecutter.project_slug }}.groups import group_name

PUSH_EVENT = "push.message"


def user_group(topic: str, user_or_id: object) -> str:
    """The group a user's sockets for `topic` join; user_or_id is a user or a primary key (int, str, UUID)."""
    user_id = getattr(user_or_id, "pk", user_or_id)
    if user_id is None:
        raise ValueError("Cannot push to a user that has no primary key (anonymous or not saved).")
    return group_name(topic, "user", user_id)


def topic_group(topic: str) -> str:
    """The group every socket of a topic joins, for broadcasts."""
    return group_name(topic, "all")


async def apush(group: str, payload: Any, keep: bool = False) -> None:
    """Send `payload` (anything JSON can encode) to every socket in `group`. With `keep`, store it first as the next
    entry of the history stream `group` (then it must be a JSON object: a dict without a "seq" key)."""
    if keep:
        await history.aappend(group, payload)
        return
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as error:
        # Fail here, in the caller's code, rather than in each consumer where nobody would see it.
        raise TypeError(f"A push payload must be JSON-serializable: {error}") from None
    layer = get_channel_layer()
    assert layer is not None  # settings.CHANNEL_LAYERS always names one
    await layer.group_send(group, {"type": PUSH_EVENT, "payload": payload})


def push(group: str, payload: Any, keep: bool = False) -> None:
    """Synchronous apush(), for views, management commands and the shell (not for async code: await apush).
    With `keep`, inside transaction.atomic() it is stored with the transaction and sent once that commits."""
    if keep:
        history.append(group, payload)
        return
    async_to_sync(apush)(group, payload)


class PushConsumer(history.CatchUpMixin, JsonConsumer):
    """A socket for logged-in users that receives what apush() and push() send to its topic's groups.

    On connect it joins the user's group for `topic` (so pushes reach every tab of that user) and, with
    `broadcasts = True`, the topic's group for everyone. Anonymous sockets are closed with UNAUTHORIZED.

    Each push arrives as its payload. With `kept = True` the user's group is also a history stream: what was
    pushed to it with keep=True is stored, and a socket opened with `?since=` catches up on it as
    history.CatchUpMixin says (those payloads then carry a "seq", and {"caught_up": n} follows the catch-up).
    """

    # Each subclass names its topic. Left None, connect() fails in group_name() with a ValueError that says so.
    topic: str = None  # type: ignore[assignment]
    broadcasts = False
    kept = False  # True: the user's group is a history stream the socket can catch up on (?since=)
    groups_joined: list[str] = []  # set on connect; the class's empty list is never changed

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept first: a close code is only readable by the client after the handshake.
            await self.accept()
            await self.close(code=UNAUTHORIZED)
            return
        self.groups_joined = [user_group(self.topic, user)]
        if self.broadcasts:
            self.groups_joined.append(topic_group(self.topic))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        if self.kept:
            await self.catch_up(self.groups_joined[0])

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def push_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])
