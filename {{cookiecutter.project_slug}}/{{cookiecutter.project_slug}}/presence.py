"""Presence: which sockets are open under a key (a chat room, a document...), asked from any process.

A socket registers an Entry under a key while it is open: `await entry.join()` on connect, `await entry.leave()`
on disconnect. In between, the entry refreshes its deadline every settings.PRESENCE_HEARTBEAT_SECONDS (default
10 s); an entry not refreshed for TTL_HEARTBEATS heartbeats (20 s by default) is gone. That is the bound after a
crash: the sockets of a server process killed with SIGKILL leave every list within 2 heartbeats, and pages
watching the key hear of it at the next heartbeat of a socket still there (3 heartbeats at most).

Where entries live: on the Redis layer, in a sorted set per key on the layer's own Redis (its `hosts`, the
connection options of settings.py), scored by deadline, so every process sees every other's sockets. On the
in-memory layer, in this process's memory (one process is all that layer serves). Server clocks must agree
(NTP): deadlines are wall-clock times.

Reading: `await awho_is_in(key)` or `who_is_in(key)` (views, the shell) returns a Present: logged-in users by
name, once each however many sockets they have open, and anonymous sockets counted (two anonymous tabs count
two: nothing tells them apart). On the in-memory layer a shell sees nobody: the sockets are in the server.

Live updates: each change (a join, a leave, an expired entry found by a heartbeat) sends a `presence.changed`
event to the group named by the key itself, {"type": "presence.changed", "version": int, **Present.as_json()};
sockets that want updates join that group. Versions grow with every change (per Redis host): events from
several processes can arrive out of order, so keep the one with the highest version (docs/consumers.md, Presence).
"""

import asyncio
import itertools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from {{ cookiecutter.project_slug }}.layers import is_in_memory

PRESENCE_EVENT = "presence.changed"
TTL_HEARTBEATS = 2  # an entry lives this many heartbeats past its last refresh

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Present:
    """Who is under a key: `users` (sorted names of logged-in users, once each), `anonymous` (anonymous
    sockets), `sockets` (all live sockets, several per user included)."""

    users: list[str] = field(default_factory=list)
    anonymous: int = 0
    sockets: int = 0

    @classmethod
    def of(cls, members):
        """From stored members (the JSON text of [socket id, user id or None, name])."""
        entries = [json.loads(member) for member in members]
        users = {user_id: name for _, user_id, name in entries if user_id is not None}
        anonymous = sum(1 for _, user_id, _ in entries if user_id is None)
        return cls(sorted(users.values()), anonymous, len(entries))

    def as_json(self):
        return {"users": self.users, "anonymous": self.anonymous}


def heartbeat_seconds():
    return settings.PRESENCE_HEARTBEAT_SECONDS


async def awho_is_in(key):
    """Present under `key` (a group name, e.g. chat.consumers.presence_group(room)) now."""
    # Read only: trimming expired entries here would hide the change from the heartbeat that announces it.
    return Present.of(await store().members(key, time.time()))


def who_is_in(key):
    """awho_is_in() for synchronous code: views, management commands, the shell."""
    return async_to_sync(awho_is_in)(key)


class Entry:
    """One open socket under `key` (a group name; `announce` events go to that group).

    `user` is the socket's scope["user"] (None or AnonymousUser: anonymous). join() and leave() return the
    Present they left behind; join() starts the heartbeat, leave() stops it. A Redis error in a heartbeat is
    logged and retried at the next one.
    """

    def __init__(self, key, user=None, announce=True):
        self.key, self.announce = key, announce
        logged_in = user is not None and user.is_authenticated
        self.member = json.dumps(
            [uuid.uuid4().hex, str(user.pk) if logged_in else None, user.get_username() if logged_in else None]
        )
        self.task = None

    async def join(self):
        await store().refresh(self.key, self.member, time.time())
        present = await self.changed()
        self.task = asyncio.ensure_future(self.beat())
        return present

    async def leave(self):
        if self.task is None:
            return None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.task = None
        await store().remove(self.key, self.member)
        return await self.changed()

    async def beat(self):
        while True:
            await asyncio.sleep(heartbeat_seconds())
            try:
                if await store().refresh(self.key, self.member, time.time()):
                    await self.changed()  # an entry expired (its process died), or this one had
            except Exception as error:  # Redis away: one line, no traceback, and the next heartbeat tries again
                logger.warning("Presence heartbeat of %s failed (%r); retrying at the next.", self.key, error)

    async def changed(self):
        """Read the list (one atomic snapshot with its version) and tell the key's group, if announcing."""
        version, members = await store().snapshot(self.key, time.time())
        present = Present.of(members)
        if self.announce:
            event = {"type": PRESENCE_EVENT, "version": version, **present.as_json()}
            layer = get_channel_layer()
            assert layer is not None  # settings.CHANNEL_LAYERS always names one
            await layer.group_send(self.key, event)
        return present


def store():
    """Where entries live: the Redis of the channel layer, or this process's memory with the in-memory layer."""
    if is_in_memory():
        return memory_store
    return RedisStore(get_channel_layer())


class MemoryStore:
    """Entries in this process: {key: {member: deadline}}; versions from one counter of the process."""

    def __init__(self):
        self.entries = {}
        self.versions = itertools.count(1)

    async def refresh(self, key, member, now):
        """Set the member's deadline; True if the list changed (it was not there, or others expired)."""
        entries = self.entries.setdefault(key, {})
        added = member not in entries
        entries[member] = now + TTL_HEARTBEATS * heartbeat_seconds()
        return self.trim(key, now) > 0 or added

    async def remove(self, key, member):
        self.entries.get(key, {}).pop(member, None)
        self.trim(key, time.time())

    async def snapshot(self, key, now):
        """(version, members) at `now`, expired entries removed."""
        self.trim(key, now)
        return next(self.versions), list(self.entries.get(key, {}))

    async def members(self, key, now):
        return [member for member, deadline in self.entries.get(key, {}).items() if deadline >= now]

    def trim(self, key, now):
        entries = self.entries.get(key, {})
        expired = [member for member, deadline in entries.items() if deadline < now]
        for member in expired:
            del entries[member]
        if not entries:
            self.entries.pop(key, None)
        return len(expired)


memory_store = MemoryStore()


class RedisStore:
    """Entries in a sorted set per key, `<layer prefix>:presence:<key>`, member -> deadline, on the layer's
    Redis host for the key (several hosts: the layer's consistent hash); versions from a counter on that host."""

    def __init__(self, layer):
        self.layer = layer

    def connection(self, key):
        return self.layer.connection(self.layer.consistent_hash(key))

    def redis_key(self, key):
        return f"{self.layer.prefix}:presence:{key}"

    async def refresh(self, key, member, now):
        ttl = TTL_HEARTBEATS * heartbeat_seconds()
        name = self.redis_key(key)
        async with self.connection(key).pipeline(transaction=False) as pipe:
            pipe.zadd(name, {member: now + ttl})
            pipe.zremrangebyscore(name, "-inf", f"({now}")
            pipe.expire(name, int(ttl) + 1)  # a key whose every process died goes too
            added, expired, _ = await pipe.execute()
        return bool(added or expired)

    async def remove(self, key, member):
        await self.connection(key).zrem(self.redis_key(key), member)

    async def snapshot(self, key, now):
        name = self.redis_key(key)
        # One transaction: the version and the list belong together, whichever process reads them.
        async with self.connection(key).pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", f"({now}")
            pipe.incr(f"{self.layer.prefix}:presence-version")
            pipe.zrangebyscore(name, now, "+inf")
            _, version, members = await pipe.execute()
        return version, [member.decode() for member in members]

    async def members(self, key, now):
        members = await self.connection(key).zrangebyscore(self.redis_key(key), now, "+inf")
        return [member.decode() for member in members]
