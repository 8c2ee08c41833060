"""groups.py: the one rule that turns any text into channel-layer group names."""

import re

import pytest

from {{ cookiecutter.project_slug }}.groups import group_name

# The rule Channels enforces on group names (channels.layers.BaseChannelLayer).
VALID_GROUP = re.compile(r"^[a-zA-Z0-9._-]{1,99}$")
ODD_PARTS = ["café", "with space", "x" * 200, "../etc", "日本語", "a/b", "room-1.b_2", "ünïcode key", 10**18]


@pytest.mark.parametrize("part", ["lobby", *ODD_PARTS])
def test_any_part_gives_a_valid_group_name(part):
    assert VALID_GROUP.match(group_name("chat", "room", part))


def test_plain_parts_stay_readable():
    assert group_name("chat", "room", "lobby") == "chat.room.lobby"
    assert group_name("notifications", "user", 7) == "notifications.user.7"


def test_different_parts_give_different_groups():
    parts = ["café", "cafe", "x" * 200, "x" * 201, "chat.hash.0", "a.b", "a_b"]
    parts.append(group_name(parts[0]))  # a part spelled like another part's hash
    assert len({group_name("chat", "room", part) for part in parts}) == len(parts)


def test_dots_inside_parts_cannot_make_two_names_meet():
    assert group_name("a.b", "c") != group_name("a", "b.c")


def test_a_missing_part_or_a_name_too_long_is_refused():
    with pytest.raises(ValueError, match="None"):
        group_name("tasks", "user", None)
    with pytest.raises(ValueError, match="Too many parts"):
        group_name(*["x" * 30] * 4)
