"""Room name -> channel-layer group name.

Channels accepts group names of ASCII letters, digits, `.`, `_` and `-`, shorter than 100 characters, and
raises TypeError otherwise. Room names come from URLs and may be anything (unicode, spaces, very long), so
names that do not fit are hashed: every room still gets its own group, and no room name can crash a consumer.
"""

import hashlib
import re

SAFE_ROOM = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


def room_group_name(room):
    if SAFE_ROOM.match(room):
        return f"chat.room.{room}"
    return f"chat.hash.{hashlib.sha256(room.encode()).hexdigest()[:40]}"
