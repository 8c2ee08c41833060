"""Base classes for every app's consumers, the consumer of unknown socket paths, and the close codes."""

import logging
import time
from typing import TYPE_CHECKING, Any

from asgiref.sync import ThreadSensitiveContext
from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, WebSocketDisconnectEvent
from channels.consumer import AsyncConsumer, get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings

from {{ cookiecutter.project_slug }} import strictjson
from {{ cookiecutter.project_slug }}.contracts import Contract, InvalidMessage, contract_for

NOT_FOUND = 4404  # close code: no socket route matches the path
UNAUTHORIZED = 4401  # close code: the socket needs a logged-in user (session cookie or ?token=)
EXPIRED = 4408  # close code: the socket reached its maximum age (before group_expiry): reconnect at once
BUSY = 4503  # close code: this server process holds its maximum of sync consumers' sockets: retry later
GONE = 1006  # the code disconnect() gets when the client vanished without a close frame
# close code: the user (an anonymous socket: its address) already holds its maximum of open sockets
# (settings.SOCKETS_PER_USER, SOCKETS_PER_ADDRESS; middleware.SocketCapMiddleware): close another tab first
TOO_MANY_SOCKETS = 4409
# close code: the client kept sending over its message rate limit after an {"error": ...} frame said so
# (settings.SOCKET_MESSAGES_PER_SECOND, SOCKET_MESSAGE_BURST; JsonConsumer)
RATE_LIMITED = 4429

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    # The scope a consumer gets: an ASGI WebSocket scope plus what Channels' routing and auth add (types-channels).
    from channels.consumer import _ChannelScope as Scope

    # The mixins below go before a consumer class: to the type checker they are consumers themselves.
    ConsumerMixinBase = AsyncConsumer
else:
    ConsumerMixinBase = object


class NoDbCleanupMixin(ConsumerMixinBase):
    """For async consumers whose handlers never await the async ORM (`aget`, `acreate`, `async for`...).

    Channels runs `close_old_connections()` in a worker thread before every message a consumer handles, a
    thread hop that costs more than an echo itself. This mixin skips it. Database code run through
    `database_sync_to_async` stays correct: that wrapper closes old connections around each call itself.
    A consumer that awaits the async ORM must keep Channels' own dispatch: leave this mixin out.

    It also keeps the consumer alive when a layer message has a `type` it has no handler for: a stray
    group_send is logged and dropped, instead of killing the socket with ValueError.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            logger.warning("%s has no handler for a %r message: dropped.", type(self).__name__, message["type"])
            return
        await handler(message)


class OwnThreadMixin(ConsumerMixinBase):
    """For sync consumers (WebsocketConsumer, JsonWebsocketConsumer): run this socket's handlers in a thread
    of its own.

    Channels runs every sync handler of the process, and the auth and session lookups of every handshake, in
    one shared thread. A sync handler's `self.send()` waits there until the client takes the data, so one
    client that stops reading would stall every new socket of the server. Here it stalls only itself. The
    price is one thread per open socket of this consumer: for many sockets, write an async consumer.

    The ceiling: at most MAX_THREAD_SOCKETS such sockets per server process, counted over every consumer with
    this mixin (each thread costs about 90 KB resident and a stack of virtual memory; 3,000 of them took 269 MB).
    A socket over the limit is accepted and closed at once with BUSY (4503): the client may retry later. More
    sockets need more server processes (WEB_CONCURRENCY) or an async consumer.
    """

    async def __call__(self, scope: "Scope", receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)
        if thread_sockets.open >= MAX_THREAD_SOCKETS:
            if await close_at_handshake(receive, send, BUSY):
                logger.warning(
                    "%s closed a socket with %s at its handshake: this process already holds %d sockets of sync "
                    "consumers (one thread each).",
                    type(self).__name__,
                    BUSY,
                    thread_sockets.open,
                )
            return
        thread_sockets.open += 1
        try:
            async with ThreadSensitiveContext():
                await super().__call__(scope, receive, send)
        finally:
            thread_sockets.open -= 1


# A JSON frame counts against its socket's rate limit once for every CHARACTERS_PER_MESSAGE characters it holds,
# or part of them: parsing is what a frame costs, and 20 frames of 1 MiB a second would keep a core busy.
CHARACTERS_PER_MESSAGE = 64 * 1024
MAX_THREAD_SOCKETS = 1000  # per server process: sockets of OwnThreadMixin consumers, one OS thread each
# The classes Channels' send_json goes through to the server, whose work JsonConsumer.send_json does itself.
CHANNELS_SENDERS = (AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer, AsyncConsumer)


class thread_sockets:
    open = 0  # OwnThreadMixin sockets open in this process now


async def close_at_handshake(receive: ASGIReceiveCallable, send: ASGISendCallable, code: int) -> bool:
    """Answer a socket's handshake by accepting it and closing it with `code` at once (a refused handshake
    would show the client only HTTP 403, without the reason the code gives). Returns whether it did: False when
    the client left before its handshake."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return False
    # asgiref's TypedDicts require the keys ASGI makes optional (subprotocol, headers, reason): sent without them.
    await send({"type": "websocket.accept"})  # type: ignore[misc, arg-type]
    await send({"type": "websocket.close", "code": code})  # type: ignore[arg-type]
    return True


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Ends sockets that match no route with a close code clients can read, not a failed handshake."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=NOT_FOUND)


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """An AsyncJsonWebsocketConsumer that answers frames it cannot decode with an error frame.

    The stock class lets a malformed frame kill the connection; here the client learns what was wrong
    and the socket stays open. Subclasses implement receive_json(content) as usual.

    `contract` (contracts.py: a Contract or its dotted path) declares the messages the socket accepts and sends:
    a frame that does not match what it accepts gets {"error": ...} naming the field, and receive_json never sees
    it. None: any JSON reaches receive_json (a consumer of the project should declare one: the socket description
    and its test ask for it).

    Frames are parsed by strictjson.loads: malformed JSON, nesting deeper than strictjson.MAX_DEPTH, integers
    of more than 4,300 digits, NaN/Infinity and lone surrogates all get {"error": ...}, on either channel layer.
    A decode_json override gets only texts within strictjson.MAX_DEPTH, and its ValueError gets {"error":
    str(error)} too (json's and orjson's JSONDecodeError are ValueErrors); any other error it raises ends the
    socket. send_json() refuses to send NaN or Infinity (ValueError), which browsers cannot parse.

    Each socket has a message rate limit, a token bucket: `message_burst` frames at once, then
    `messages_per_second` (settings.SOCKET_MESSAGES_PER_SECOND and SOCKET_MESSAGE_BURST unless a subclass sets
    its own; a rate of 0: no limit). A frame counts once for every CHARACTERS_PER_MESSAGE (64 K) characters it
    holds or part of them (at most `message_burst` times). A frame over the limit is dropped, the first of a run
    with {"error": ...}; a client that sends more than `message_burst` frames over the limit before its bucket
    has filled up again is closed with RATE_LIMITED (4429).

    It also runs disconnect() when a handler fails, typically sending to a client that has just gone
    (uvicorn raises ClientDisconnected): the stock class skips disconnect() then, so the socket's groups
    kept it as a member for a day (channels' group_expiry), collecting messages nobody reads.
    """

    disconnected = False
    # Whether a base class listed after JsonConsumer has a send_json or send() that Channels' send_json would call
    # (set by __init_subclass__): then frames go through Channels' send_json.
    later_sends = False
    contract: Contract | str | None = None
    messages_per_second: float | None = None  # None: settings.SOCKET_MESSAGES_PER_SECOND
    message_burst: int | None = None  # None: settings.SOCKET_MESSAGE_BURST
    bucket: "TokenBucket | None" = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        later = [base for base in cls.__mro__[cls.__mro__.index(JsonConsumer) + 1 :] if base not in CHANNELS_SENDERS]
        cls.later_sends = any({"send_json", "send"} & vars(base).keys() for base in later)

    async def __call__(self, scope: "Scope", receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            if not self.disconnected:
                await self.disconnect(GONE)
            raise

    async def websocket_disconnect(self, message: WebSocketDisconnectEvent) -> None:
        self.disconnected = True
        await super().websocket_disconnect(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        bucket = self.bucket or self.make_bucket()
        size = len(text_data) if text_data is not None else len(bytes_data or b"")
        # Tokens: one per CHARACTERS_PER_MESSAGE or part of them. -(-a // b) is a / b rounded up.
        cost = 1 if size <= CHARACTERS_PER_MESSAGE else -(-size // CHARACTERS_PER_MESSAGE)
        if not bucket.take(cost):
            await self.refuse_over_rate_limit(bucket)
            return
        if text_data is None:
            await self.send_error("Binary frames are not accepted: send JSON text.")
            return
        try:
            if own_hook(self.decode_json, OWN_DECODE):
                content = strictjson.loads(text_data)
            else:
                strictjson.check_depth(text_data)  # a recursive decoder would raise RecursionError, or crash
                content = await self.decode_json(text_data)
        except ValueError as error:  # strictjson.InvalidJSON, or an override's: json's or orjson's JSONDecodeError
            await self.send_error(str(error))
            return
        contract = contract_for(type(self)) if self.contract is not None else None
        if contract is not None:
            try:
                contract.validate(text_data)
            except InvalidMessage as error:
                await self.send_error(str(error))
                return
        await self.receive_json(content, **kwargs)

    async def send_json(self, content: Any, close: bool = False) -> None:
        """Channels' send_json(): `content` as a JSON text frame (encode_json), then a close if `close` (True or a
        close code). Raises ValueError for NaN or Infinity, TypeError for a value JSON has no form for. As in
        Channels, the frame goes to the server without calling a send() the consumer overrides."""
        if self.later_sends or not own_hook(self.encode_json, OWN_ENCODE):
            await super().send_json(content, close)
            return
        # asgiref's TypedDict requires the key ASGI makes optional (bytes): sent without it.
        await self.base_send({"type": "websocket.send", "text": encode(content)})  # type: ignore[arg-type]
        if close:
            await self.close(close)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        return strictjson.loads(text_data)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return encode(content)

    async def send_error(self, message: str) -> None:
        await self.send_json({"error": message})

    def make_bucket(self) -> "TokenBucket":
        """This socket's token bucket, made on its first frame from the class's rate or the settings."""
        rate, burst = self.messages_per_second, self.message_burst
        self.bucket = TokenBucket(
            settings.SOCKET_MESSAGES_PER_SECOND if rate is None else rate,
            settings.SOCKET_MESSAGE_BURST if burst is None else burst,
        )
        return self.bucket

    async def refuse_over_rate_limit(self, bucket: "TokenBucket") -> None:
        """A frame over the limit was dropped: tell the client (once a run), or close the socket."""
        if bucket.dropped == bucket.burst + 1:
            await self.close(code=RATE_LIMITED)
        elif bucket.streak == 1:  # the first frame dropped since one was handled
            await self.send_error(
                f"Too many messages: at most {bucket.rate:g} a second, a frame counting once for every "
                f"{CHARACTERS_PER_MESSAGE // 1024} K characters. This one was dropped."
            )


# JsonConsumer's own hooks. A consumer whose decode_json and encode_json are these (it overrides neither) does not
# await them for each frame, nor the two send()s behind Channels' send_json: about 1 µs of the 6 µs a JSON echo adds
# to an echo. Checked for each frame, so that a hook patched onto a class later (a test's mock.patch.object) counts.
OWN_DECODE = vars(JsonConsumer)["decode_json"].__func__  # the classmethods' functions
OWN_ENCODE = vars(JsonConsumer)["encode_json"].__func__


def own_hook(hook: Any, own: Any) -> bool:
    """Whether `hook` (a consumer's decode_json or encode_json, as bound) is JsonConsumer's own function `own`, not an
    override (a classmethod or method of another function; a staticmethod or a mock, which have no __func__)."""
    return getattr(hook, "__func__", None) is own


def encode(content: Any) -> str:
    """The text of a frame: `content` (JSON values, or a contract's message: a pydantic model) by strictjson.dumps."""
    dump = getattr(content, "model_dump", None)  # send_json(Said(...)): a message (pydantic model) of the contract
    if dump is not None:
        content = dump(mode="json")
    return strictjson.dumps(content)


class TokenBucket:
    """`burst` tokens, refilled at `rate` a second (time.monotonic); `dropped` counts the take()s refused since the
    bucket was last full, `streak` those since the last take() that succeeded. A rate of 0: no limit."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens: float = burst  # fractions of a token refill between frames
        self.at, self.dropped, self.streak = time.monotonic(), 0, 0

    def take(self, tokens: int = 1) -> bool:
        """True and `tokens` tokens less (at most `burst`: the largest frame needs a full bucket, not more), or
        False (and one more dropped) when fewer are left."""
        if not self.rate:
            return True
        if tokens != 1:  # (most frames: 1) a full bucket at most, one at least (a burst of 0 lets none in)
            tokens = max(1, min(tokens, self.burst))
        now = time.monotonic()
        available = self.tokens + (now - self.at) * self.rate
        self.at = now
        if available >= self.burst:
            available = self.burst
            self.dropped = 0  # the client waited long enough: a fresh start
        if available >= tokens:
            self.tokens = available - tokens
            self.streak = 0
            return True
        self.tokens = available
        self.dropped += 1
        self.streak += 1
        return False
