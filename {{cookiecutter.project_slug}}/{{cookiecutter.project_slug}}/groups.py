"""Channel-layer group names from any text: the one rule for chat rooms, push topics and users, and every app.

Channels accepts group names of ASCII letters, digits, `.`, `_` and `-` shorter than 100 characters, and raises
TypeError otherwise. Parts of a name often come from URLs or primary keys and may be anything (unicode, spaces,
dots, very long), so a part that does not fit is hashed: every distinct part still gets its own group, and none
can crash a consumer.
"""

import hashlib
import re

# Parts keep no dots, so that ("a.b", "c") and ("a", "b.c") never meet.
SAFE_PART = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# A hashed part is 33 characters, one more than a kept part may have: the two never meet either.
HASH_LENGTH = 32
MAX_GROUP_NAME = 99


def group_name(*parts: object) -> str:
    """`parts` joined with dots; each part kept when it fits SAFE_PART, else replaced by a hash of itself.

    group_name("chat", "room", "lobby") == "chat.room.lobby"; group_name("chat", "room", "café") gives
    "chat.room.h" and 32 hexadecimal digits.
    """
    if any(part is None for part in parts):
        raise ValueError(f"A group name part is None: {parts!r}.")
    name = ".".join(safe_part(str(part)) for part in parts)
    if len(name) > MAX_GROUP_NAME:
        raise ValueError(f"Too many parts for a group name of at most {MAX_GROUP_NAME} characters: {parts!r}.")
    return name


def safe_part(value: str) -> str:
    """`value` itself when it fits SAFE_PART, else "h" and 32 hexadecimal digits of its SHA-256."""
    if SAFE_PART.match(value):
        return value
    # surrogatepass: a path may carry lone surrogates, which a strict UTF-8 encode refuses.
    return "h" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_LENGTH]
