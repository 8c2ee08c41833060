import logging
from urllib.parse import parse_qs

from django.db import DatabaseError

from {{ cookiecutter.project_slug }} import history, presence
from {{ cookiecutter.project_slug }}.consumers import JsonConsumer, NoDbCleanupMixin
from {{ cookiecutter.project_slug }}.groups import group_name

MAX_MESSAGE_LENGTH = 4000

logger = logging.getLogger(__name__)


def room_group(room):
    """The group of a room, and the name of its history stream; any room name works (groups.py hashes what
    Channels would refuse)."""
    return group_name("chat", "room", room)


def presence_group(room):
    """The presence key of a room: presence.who_is_in(presence_group("lobby")) says who is in it."""
    return group_name("chat", "presence", room)


class ChatConsumer(history.CatchUpMixin, NoDbCleanupMixin, JsonConsumer):
    """Every socket in a room joins the room's group; a message sent by one is stored in the room's history
    (history.py: the stream room_group(room), its last settings.HISTORY_KEEP messages kept) and delivered to all.

    Client -> server: {"message": "text"} (1 to MAX_MESSAGE_LENGTH characters, not only spaces, no NUL).
    Server -> client: {"message": "text", "user": "name"}, "user" being "anonymous" for a socket without a login;
    {"error": "why"} for a frame that is not a chat message, or a message that could not be stored (the
    database is down: it was not sent either).

    Catching up (history.CatchUpMixin): a socket opened with `?since=recent` (the room page when it opens) first
    gets the room's last `recent` (50) messages, and one opened with `?since=N` every message after seq N still
    kept (the page when it reconnects); such a socket's messages carry their "seq": {"message": "text", "user":
    "name", "seq": 7}, each once, in order. Then {"caught_up": n} (n: the seq of the last message sent so far, 0
    in an empty room), then live messages. Also {"missed": {"first": a, "last": b}} in place of messages a to b that
    are no longer kept, and {"error": "why"} for a `since` that is neither "recent" nor a seq of this room (the
    socket then starts as with since=recent). Without `since`, live messages only, without "seq".

    Every socket counts in the room's presence (presence.py). A socket opened with `?presence=1` (the room page)
    also gets {"presence": {"users": ["alice", ...], "anonymous": 2}} on connect and at each change; others do
    not, so clients that only chat see chat messages only.
    """

    contract = "chat.contracts.CHAT"  # the frames above, as models
    group = entry = None
    presence_version = 0  # the version of the last list sent: older events are dropped

    async def connect(self):
        room = self.scope["url_route"]["kwargs"]["room"]
        self.group = room_group(room)
        await self.channel_layer.group_add(self.group, self.channel_name)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if query.get("presence") == ["1"]:
            await self.channel_layer.group_add(presence_group(room), self.channel_name)
        await self.accept()
        await self.catch_up(self.group)  # joined first: nothing stored from now on can pass this socket by
        self.entry = presence.Entry(presence_group(room), self.scope.get("user"))
        await self.entry.join()  # tells the room's watchers, this socket included

    async def disconnect(self, code):
        # The presence entry first: leave() stops its heartbeat even when the channel layer fails below, where a
        # heartbeat left running would keep this socket in the room's list for the life of the process.
        try:
            if self.entry:
                await self.entry.leave()
        finally:
            if self.group:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            if self.entry:
                await self.channel_layer.group_discard(self.entry.key, self.channel_name)

    async def receive_json(self, content, **kwargs):
        message = content["message"]  # 1 to MAX_MESSAGE_LENGTH characters: the contract's Say checked it
        if not message.strip():
            await self.send_error('Send {"message": "some text"}.')
            return
        if "\x00" in message:
            await self.send_error("Messages may not contain NUL characters.")
            return
        user = self.scope.get("user")
        name = user.get_username() if user is not None and user.is_authenticated else "anonymous"
        try:
            # Stored, then sent to the room as a history.entry event (CatchUpMixin.history_entry sends it on).
            await history.aappend(self.group, {"message": message, "user": name})  # type: ignore[arg-type]
        except DatabaseError as error:  # the database is down: one line, no traceback, and the sender is told
            logger.warning("A chat message to %s could not be stored (%r).", self.group, error)
            await self.send_error("Your message could not be stored, so it was not sent: try again.")

    async def presence_changed(self, event):
        if event["version"] > self.presence_version:
            self.presence_version = event["version"]
            await self.send_json({"presence": {"users": event["users"], "anonymous": event["anonymous"]}})
