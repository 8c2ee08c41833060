"""History: streams of entries kept in the database, and sockets that catch up on what they missed.

A stream is a named sequence of entries, each a JSON object: a chat room's messages, one user's notifications.
Its name is a channel-layer group name (groups.group_name(), e.g. chat.consumers.room_group(room)): append() or
aappend() stores an entry with the stream's next seq (1, 2, 3... with no gap) and, once that is committed, sends it
as a `history.entry` event, {"type": "history.entry", "stream": name, "seq": n, "data": {...}}, to the group of that
name. A consumer with CatchUpMixin that joined the group turns the event into a frame, `data` plus its "seq".

Why seqs can be trusted: the seq is taken by incrementing the stream's row (an UPDATE, which locks the row until
the transaction ends, on PostgreSQL as on SQLite, where every write locks the whole database), so the entry with
seq n+1 commits after the one with seq n: once a reader sees n+1 it sees n too, and a reader that has seen every
entry up to n can ask for "after n" and miss nothing. The live event goes out after the commit, so a socket that
receives it can always read the entry back.

Retention: each stream keeps its last settings.HISTORY_KEEP entries (HISTORY_KEEP in the environment, default
1000); each append deletes the ones that fell out. A stream's row stays when its entries go (its seq goes on).

The socket's side (CatchUpMixin): the client says where it is in the URL's query string, `?since=N` (the seq of the
last entry it has: it gets every entry after N still kept) or `?since=recent` (a page just opened: it gets the last
`recent` entries). The consumer joins the group first, then reads from the database and sends, then sends live
events: an event the socket has already been sent (seq <= the last one sent) is dropped, and one that comes after a
gap (events from several processes, or a channel layer that dropped one over capacity, can arrive out of order or
not at all) first has the missing entries read from the database. So a socket gets every entry of its stream from
its starting point once, in seq order, across server processes and restarts, as long as it keeps reconnecting with
the last seq it got. A socket opened without `since` gets live entries only, without seqs, as before.

Limits: an entry is delivered live once its event arrives; an event lost by the channel layer is made up for at the
stream's next event or at the next reconnect. A client that was away for more than HISTORY_KEEP entries of its
stream gets a {"missed": ...} frame instead of the ones no longer kept. Stream rows are never deleted: a chat with
any room name makes one row per room ever written to.
"""

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from {{ cookiecutter.project_slug }} import strictjson
from {{ cookiecutter.project_slug }}.models import Entry, Stream

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope as Scope
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    # The mixin goes before a JSON consumer class: to the type checker it is one itself.
    CatchUpBase = AsyncJsonWebsocketConsumer
else:
    CatchUpBase = object

HISTORY_EVENT = "history.entry"
PAGE = 200  # entries read from the database at a time while catching up
MAX_SEQ = 2**63 - 1  # seqs are 64-bit (PositiveBigIntegerField): a larger `since` is refused, never queried

Data = dict[str, Any]


class BadSince(ValueError):
    """A `since` a socket cannot start from; the message says why, for the client."""


def check_data(data: object) -> Data:
    """`data` if it can be an entry: a JSON object (a dict of JSON values) with no "seq" key, no NUL character
    (PostgreSQL's JSON refuses it) and no lone surrogate (not valid Unicode: the Redis layer cannot send it); else
    TypeError, or ValueError for a NUL or a lone surrogate. In the caller's code, where it shows, rather than in
    each consumer."""
    if not isinstance(data, dict):
        raise TypeError(f"A history entry must be a JSON object (a dict), not {type(data).__name__}.")
    if "seq" in data:
        raise TypeError('A history entry may not have a "seq" key: its frame gets the seq there.')
    try:
        strictjson.dumps(data)
    except (TypeError, ValueError) as error:
        raise TypeError(f"A history entry must be JSON-serializable: {error}") from None
    if has_nul(data):
        raise ValueError("A history entry may not contain a NUL character (\\x00): PostgreSQL cannot store it.")
    if strictjson.has_lone_surrogate(data):
        raise ValueError(
            "A history entry may not contain a lone surrogate (\\ud800-\\udfff without its pair): it is not "
            "valid Unicode, and the Redis channel layer cannot send it."
        )
    return data


def has_nul(value: object) -> bool:
    """Whether a JSON value has a NUL character in a string or a key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


def store(stream: str, data: Data) -> int:
    """Store `data` as the next entry of `stream` (created on first use), delete what falls out of HISTORY_KEEP,
    and return its seq. Its own atomic block: inside an outer one it commits with that one. Sends nothing."""
    with transaction.atomic():
        stream_id, seq = next_seq(stream)
        Entry.objects.create(stream_id=stream_id, seq=seq, data=data)
        keep: int = settings.HISTORY_KEEP
        if seq > keep:
            Entry.objects.filter(stream_id=stream_id, seq__lte=seq - keep).delete()
    return seq


def next_seq(stream: str) -> tuple[int, int]:
    """(the stream's id, its next seq), its row locked until the transaction ends. The increment comes first, as
    an UPDATE: a read first would let two SQLite transactions deadlock on upgrading their locks."""
    for _ in range(3):
        if Stream.objects.filter(name=stream).update(last_seq=F("last_seq") + 1):
            return Stream.objects.values_list("pk", "last_seq").get(name=stream)
        try:
            with transaction.atomic():  # a savepoint: a lost race to create the row leaves the transaction usable
                return Stream.objects.create(name=stream, last_seq=1).pk, 1
        except IntegrityError:
            continue  # another transaction created it first: increment that one
    raise RuntimeError(f"Could not create the history stream {stream!r}.")


def append(stream: str, data: Data) -> int:
    """Store `data` (a JSON object) in `stream` and send it to the stream's group once committed: at once, or
    inside transaction.atomic() when the outermost block commits (nothing if it rolls back). Returns its seq.
    For synchronous code: views, management commands, the shell. Async code: await aappend()."""
    check_data(data)
    seq = store(stream, data)
    transaction.on_commit(lambda: async_to_sync(send_event)(stream, seq, data))
    return seq


async def aappend(stream: str, data: Data) -> int:
    """append() for async code: stores in a transaction of its own (committed on return), then sends."""
    check_data(data)
    seq = await database_sync_to_async(store)(stream, data)
    await send_event(stream, seq, data)
    return seq


async def send_event(stream: str, seq: int, data: Data) -> None:
    layer = get_channel_layer()
    assert layer is not None  # settings.CHANNEL_LAYERS always names one
    await layer.group_send(stream, {"type": HISTORY_EVENT, "stream": stream, "seq": seq, "data": data})


def entries_after(stream: str, seq: int, limit: int = PAGE) -> list[tuple[int, Data]]:
    """Up to `limit` kept entries of `stream` after `seq`, oldest first, as (seq, data). One query, so one
    snapshot: the seqs returned follow each other with no gap (older ones may have been deleted)."""
    rows = Entry.objects.filter(stream__name=stream, seq__gt=seq).order_by("seq").values_list("seq", "data")
    return list(rows[:limit])


def recent_entries(stream: str, count: int) -> list[tuple[int, Data]]:
    """The last `count` entries of `stream`, oldest first, as (seq, data)."""
    rows = Entry.objects.filter(stream__name=stream).order_by("-seq").values_list("seq", "data")
    return list(rows[:count])[::-1]


def last_seq(stream: str) -> int:
    """The seq of the newest entry of `stream`: 0 for a stream with none (or none yet)."""
    found = Stream.objects.filter(name=stream).values_list("last_seq", flat=True).first()
    return found or 0


def parse_since(scope: "Scope") -> int | str | None:
    """The `since` of a socket's query string: None (absent), "recent", or a seq (0 or more); BadSince if it is
    none of these."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    values = query.get("since")
    if values is None:
        return None
    if len(values) != 1:
        raise BadSince("Give since once.")
    value = values[0]
    if value == "recent":
        return value
    # isdigit() alone would pass other scripts' digits, and int() of thousands of digits raises.
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_SEQ:
        raise BadSince(f'since must be "recent" or the seq of the last entry you have (a whole number), not {value!r}.')
    return int(value)


class CatchUpMixin(CatchUpBase):
    """For JSON consumers whose socket follows one stream and catches up on what it missed.

    In connect(): join the stream's group (the stream's name), accept, then `await self.catch_up(stream)`. Frames
    to a socket opened with `?since=`:

    - each entry, `entry_frame(data, seq)`: by default the entry's JSON object plus "seq";
    - {"missed": {"first": a, "last": b}}: entries a to b are no longer kept (HISTORY_KEEP), sent where they would
      have been;
    - {"caught_up": n}: every entry up to seq n has been sent (or reported missed); live entries follow. The
      position to reconnect from, also when the stream had no entry yet (n = 0);
    - {"error": "..."} for a `since` that is not "recent" or a seq, or a seq past the stream's last entry (the
      stream was deleted, or the client's seqs are from another database): the socket then starts as with
      `since=recent`, so nothing kept is hidden from it.

    A socket opened without `since` gets each live entry as `entry_frame(data, None)` (no "seq"), nothing old.
    Live events are handled one at a time (Channels awaits each handler), so catch-up and live frames never mix.
    """

    kept = True  # its sockets catch up (PushConsumer makes it a switch); asyncapi.py describes the frames for them
    recent = 50  # entries sent to a socket opened with since=recent
    stream: str | None = None  # set by catch_up()
    last_sent: int | None = None  # the seq of the last entry sent; None: not catching up (no since)

    def entry_frame(self, data: Data, seq: int | None) -> Data:
        """The frame of one entry: `data`, plus "seq" for a socket that catches up."""
        return data if seq is None else {**data, "seq": seq}

    async def catch_up(self, stream: str) -> None:
        """Follow `stream` from the socket's `since` (call after joining its group and accepting)."""
        self.stream = stream
        try:
            since = parse_since(self.scope)
            if isinstance(since, int):
                last = await database_sync_to_async(last_seq)(stream)
                if since > last:
                    raise BadSince(f"since={since} is past the last entry here ({last}): starting from the recent.")
        except BadSince as error:
            await self.send_json({"error": str(error)})
            since = "recent"
        if since is None:
            return
        if since == "recent":
            rows = await database_sync_to_async(recent_entries)(stream, self.recent)
            self.last_sent = rows[0][0] - 1 if rows else 0
            for seq, data in rows:
                await self.send_entry(seq, data)
        else:
            assert isinstance(since, int)
            self.last_sent = since
        await self.send_missing()
        await self.send_json({"caught_up": self.last_sent})

    async def send_entry(self, seq: int, data: Data) -> None:
        await self.send_json(self.entry_frame(data, seq))
        self.last_sent = seq

    async def send_missing(self) -> None:
        """Send every kept entry after the last one sent, from the database, reporting those no longer kept."""
        assert self.stream is not None and self.last_sent is not None
        while True:
            rows = await database_sync_to_async(entries_after)(self.stream, self.last_sent)
            if rows and rows[0][0] > self.last_sent + 1:
                await self.send_json({"missed": {"first": self.last_sent + 1, "last": rows[0][0] - 1}})
            for seq, data in rows:
                await self.send_entry(seq, data)
            if len(rows) < PAGE:
                return

    async def history_entry(self, event: dict[str, Any]) -> None:
        """A live entry: sent once, in seq order, the missing ones read first."""
        if event["stream"] != self.stream:
            return
        seq, data = event["seq"], event["data"]
        if self.last_sent is None:
            await self.send_json(self.entry_frame(data, None))
            return
        if seq <= self.last_sent:
            return  # sent already, from the database or as an earlier copy
        if seq > self.last_sent + 1:
            await self.send_missing()  # the events before it are late or lost: the database has them
            if seq <= self.last_sent:
                return
        await self.send_entry(seq, data)
