from {{ cookiecutter.project_slug }}.consumers import JsonConsumer, NoDbCleanupMixin
from {{ cookiecutter.project_slug }}.groups import group_name

MAX_MESSAGE_LENGTH = 4000


def room_group(room):
    """The group of a room; any room name works (groups.py hashes what Channels would refuse)."""
    return group_name("chat", "room", room)


class ChatConsumer(NoDbCleanupMixin, JsonConsumer):
    """Every socket in a room joins the room's group; a message sent by one is delivered to all.

    Client -> server: {"message": "text"}.  Server -> client: {"message": "text", "user": "name"},
    or {"error": "why"} for a frame that is not a chat message.
    """

    group = None

    async def connect(self):
        self.group = room_group(self.scope["url_route"]["kwargs"]["room"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

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
        await self.channel_layer.group_send(self.group, {"type": "chat.message", "message": message, "user": name})

    async def chat_message(self, event):
        await self.send_json({"message": event["message"], "user": event["user"]})
