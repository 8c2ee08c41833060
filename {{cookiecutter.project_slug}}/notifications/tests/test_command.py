import socket

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from {{ cookiecutter.project_slug }}.environment import redis_locations
from {{ cookiecutter.project_slug }}.settings import channel_layers_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.memory_layer
def test_with_the_in_memory_layer_it_explains_why_it_cannot_reach_the_server(django_user_model):
    django_user_model.objects.create_user("alice")
    with pytest.raises(CommandError, match="in-memory.*REDIS_URL"):
        call_command("notify", "--user", "alice", "hello")


def test_user_or_all_is_required():
    with pytest.raises(CommandError, match="--user --all"):
        call_command("notify", "hello")


@pytest.mark.redis
async def test_with_redis_it_reaches_the_users_sockets(connect, make_user, session_headers):
    alice = await make_user("alice")
    socket = await connect("/ws/notifications/", headers=await session_headers(alice))
    await sync_to_async(call_command)("notify", "--user", "alice", "from the terminal")
    assert await socket.receive_json_from() == {"message": "from the terminal", "from": "manage.py notify"}
    await sync_to_async(call_command)("notify", "--all", "everyone")
    assert (await socket.receive_json_from())["message"] == "everyone"


@pytest.mark.redis
def test_with_redis_an_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("notify", "--user", "nobody", "hello")


def test_an_unreachable_redis_is_one_clear_error(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    settings.CHANNEL_LAYERS = channel_layers_for([f"redis://127.0.0.1:{port}/0"])
    with pytest.raises(CommandError, match=r"Cannot reach Redis: .*\. Is Redis running where REDIS_URL"):
        call_command("notify", "--all", "hello")
    # Behind Sentinel: the reason is a sentence of its own too.
    settings.CHANNEL_LAYERS = channel_layers_for(redis_locations([], [("127.0.0.1", port)], ["mymaster"]))
    with pytest.raises(CommandError, match=r"'mymaster' that is up\. Is Redis running where REDIS_URL"):
        call_command("notify", "--all", "hello")
