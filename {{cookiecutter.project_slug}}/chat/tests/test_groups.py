import re

import pytest

from chat.groups import room_group_name

# The rule Channels enforces on group names (channels.layers.BaseChannelLayer).
VALID_GROUP = re.compile(r"^[a-zA-Z0-9._-]{1,99}$")


@pytest.mark.parametrize("room", ["lobby", "room-1.b_2", "café", "with space", "x" * 200, "../etc", "日本語", "a/b"])
def test_every_room_name_gives_a_valid_group_name(room):
    assert VALID_GROUP.match(room_group_name(room))


def test_plain_names_stay_readable():
    assert room_group_name("lobby") == "chat.room.lobby"


def test_different_rooms_get_different_groups():
    rooms = ["café", "cafe", "x" * 200, "x" * 201, "chat.hash.0"]
    assert len({room_group_name(room) for room in rooms}) == len(rooms)
