from urllib.parse import parse_qs

from {{ cookiecutter.project_slug }} import presence
from {{ cookiecutter.project_slug }}.consumers import JsonConsumer, NoDbCleanupMixin
from {{ cookiecutter.project_slug }}.groups import group_name

MAX_MESSAGE_LENGTH = 4000


def room_group(room):
    """The group of a room; any room name works (groups.py hashes what Channels would refuse)."""
    return group_name("chat", "room", room)


def presence_group(room):
    """The presence key of a room: presence.who_is_in(presence_group("lobby")) says who is in it."""
    return group_name("chat", "presence", room)


class ChatConsumer(NoDbCleanupMixin, JsonConsumer):
    """Every socket in a room joins the room's group; a message sent by one is delivered to all.

    Client -> server: {"message": "text"}.  Server -> client: {"message": "text", "user": "name"},
    or {"error": "why"} for a frame that is not a chat message.

    Every socket counts in the room's presence (presence.py). A socket opened with `?presence=1` (the room page)
    also gets {"presence": {"users": ["alice", ...], "anonymous": 2}} on connect and at each change; others do
    not, so clients that only chat see chat messages only.
    """

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
        self.entry = presence.Entry(presence_group(room), self.scope.get("user"))
        await self.entry.join()  # tells the room's watchers, this socket included

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.entry:
            await self.channel_layer.group_discard(self.entry.key, self.channel_name)
            await self.entry.leave()

    async def receive_json(self, content, **kwargs):
        message = content.get("message") if isinstance(content, dict) else None
        if not isinstance(message, str) or not message.strip():
            await self.send_error('Send {"message": "some text"}.')
            return
        if len(message) > MAX_MESSAGE_LENGTH:
            await self.send_error(f"Messages are limited to {MAX_MESSAGE_LENGTH} characters.")
            return
        user = self.scope.get("user")
        name = user.get_username() if user is not None and user.is_authenticated else "anonymous"
        message_event = {"type": "chat.message", "message": message, "user": name}
        await self.channel_layer.group_send(self.group, message_event)  # type: ignore[arg-type]  # set on connect

    async def chat_message(self, event):
        await self.send_json({"message": event["message"], "user": event["user"]})

    async def presence_changed(self, event):
        if event["version"] > self.presence_version:
            self.presence_version = event["version"]
            await self.send_json({"presence": {"users": event["users"], "anonymous": event["anonymous"]}})
