"""Message models: the base class of every contract's messages, and the messages several sockets share.

A message is a pydantic model of one JSON frame; contracts.py says which a socket accepts and sends. This module
imports pydantic, which Django's commands never need: only the processes that route sockets (the servers,
runworker, the tests) load it, through the apps' contracts.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Message(BaseModel):
    """Base of message models: strict types (`"5"` is not an integer, `true` not a number), no keys the model does
    not name, built at first use."""

    # defer_build: a model's validator is built when a frame first needs it, not when the server imports it.
    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class AnyJson(RootModel[Any]):
    """Any JSON value."""

    model_config = ConfigDict(defer_build=True)


class Text(RootModel[str]):
    """A text frame, not parsed as JSON (a binary frame comes back as binary)."""

    model_config = ConfigDict(defer_build=True)


class Error(Message):
    """Why the last frame was refused: malformed JSON, a frame the contract does not accept (naming the field),
    the message rate limit, or a reason of the consumer's own."""

    error: str


# The frames of history.CatchUpMixin, for the contracts of sockets that catch up on what they missed.


class CatchUpQuery(Message):
    """The query string of a socket that catches up (history.CatchUpMixin)."""

    since: str | None = Field(
        None,
        description='"recent": the last messages first; a seq: every one after it still kept; left out: live only',
        examples=["recent", "42"],
    )


class CaughtUp(Message):
    """Every entry up to seq `caught_up` has been sent (or reported missed): live ones follow. The position to
    reconnect from, with ?since=."""

    caught_up: int


class Range(Message):
    first: int
    last: int


class Missed(Message):
    """Entries `first` to `last` are no longer kept: sent where they would have been."""

    missed: Range
