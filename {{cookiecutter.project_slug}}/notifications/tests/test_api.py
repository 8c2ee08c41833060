import re
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser, User

from {{ cookiecutter.project_slug }}.push import user_group

from ..api import TOPIC, anotify_user

# The rule Channels enforces on group names (channels.layers.BaseChannelLayer).
VALID_GROUP = re.compile(r"^[a-zA-Z0-9._-]{1,99}$")


@pytest.mark.parametrize("user_id", [1, 10**18, "42", uuid.uuid4(), "ünïcode key", "x" * 300, "a/b c"])
def test_any_primary_key_gives_a_valid_group_name(user_id):
    assert VALID_GROUP.match(user_group(TOPIC, user_id))


def test_a_user_and_its_id_give_the_same_group():
    assert user_group(TOPIC, User(pk=7)) == user_group(TOPIC, 7) == "notifications.user.7"


def test_different_keys_give_different_groups():
    keys = ["ünïcode", "unicode", "x" * 300, "x" * 301]
    assert len({user_group(TOPIC, key) for key in keys}) == len(keys)


@pytest.mark.parametrize("user", [AnonymousUser(), User(username="unsaved")])
def test_a_user_without_a_key_is_refused(user):
    with pytest.raises(ValueError, match="no primary key"):
        user_group(TOPIC, user)


async def test_a_payload_json_cannot_encode_fails_in_the_caller():
    with pytest.raises(TypeError, match="JSON-serializable"):
        await anotify_user(1, {"when": object()})
