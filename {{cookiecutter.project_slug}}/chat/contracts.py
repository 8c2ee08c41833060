"""The messages of the chat socket (ChatConsumer.contract): what a client sends, what the room sends back."""

from typing import Literal

from pydantic import ConfigDict, Field

from {{ cookiecutter.project_slug }}.contracts import Contract
from {{ cookiecutter.project_slug }}.messages import CatchUpQuery, Message

from .consumers import MAX_MESSAGE_LENGTH


class Say(Message):
    """A message to the room (not only spaces, no NUL: the consumer refuses those with {"error": ...})."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"message": "Hello, room!"}]})

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_LENGTH)


class Said(Message):
    """A message in the room, with its sender ("anonymous" without a login) and, on a socket opened with ?since=,
    its "seq"."""

    message: str
    user: str
    seq: int | None = Field(None, description="on a socket opened with ?since= only")


class Present(Message):
    users: list[str] = Field(description="the logged-in users in the room, by name, once each")
    anonymous: int = Field(description="anonymous sockets in the room")


class Presence(Message):
    """Who is in the room, on connect and at each change: to a socket opened with ?presence=1 only."""

    presence: Present


class ChatQuery(CatchUpQuery):
    """The chat socket's query string."""

    presence: Literal["1"] | None = Field(None, description='"1": also get who is in the room (Presence)')


CHAT = Contract(
    receives=[Say],
    sends=[Said, Presence],  # and the catch-up frames, which CatchUpMixin adds (asyncapi.py)
    parameters={"room": "The room's name: any text without a slash."},
    query=ChatQuery,
)
