import pytest
from asgiref.sync import sync_to_async

from {{ cookiecutter.project_slug }}.consumers import UNAUTHORIZED
from {{ cookiecutter.project_slug }}.tokens import make_token

from ..api import abroadcast, anotify_user, broadcast, notify_user

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_sockets_are_closed_with_4401(connect):
    socket = await connect("/ws/notifications/")
    assert await socket.receive_output() == {"type": "websocket.close", "code": UNAUTHORIZED}


async def test_every_tab_of_a_user_gets_their_notifications_and_nobody_else_does(connect, make_user, session_headers):
    alice, bob = await make_user("alice"), await make_user("bob")
    alice_tab1 = await connect("/ws/notifications/", headers=await session_headers(alice))
    alice_tab2 = await connect("/ws/notifications/", headers=await session_headers(alice))
    bob_tab = await connect("/ws/notifications/", headers=await session_headers(bob))

    await anotify_user(alice, {"message": "for alice"})
    assert await alice_tab1.receive_json_from() == {"message": "for alice"}
    assert await alice_tab2.receive_json_from() == {"message": "for alice"}
    assert await bob_tab.receive_nothing()


async def test_a_broadcast_reaches_every_user(connect, make_user, session_headers):
    alice, bob = await make_user("alice"), await make_user("bob")
    sockets = [await connect("/ws/notifications/", headers=await session_headers(user)) for user in (alice, bob)]
    await abroadcast({"message": "to all"})
    for socket in sockets:
        assert await socket.receive_json_from() == {"message": "to all"}


async def test_sync_api_works_from_sync_code_and_takes_a_user_id(connect, make_user, session_headers):
    alice = await make_user("alice")
    socket = await connect("/ws/notifications/", headers=await session_headers(alice))
    # A view, a management command or the shell call these from plain synchronous code.
    await sync_to_async(notify_user)(alice.pk, {"message": "by id"})
    assert await socket.receive_json_from() == {"message": "by id"}
    await sync_to_async(broadcast)({"n": [1, 2]})
    assert await socket.receive_json_from() == {"n": [1, 2]}


async def test_frames_from_the_client_get_an_error_and_the_socket_stays_open(connect, make_user, session_headers):
    alice = await make_user("alice")
    socket = await connect("/ws/notifications/", headers=await session_headers(alice))
    await socket.send_json_to({"message": "hi"})
    assert "error" in await socket.receive_json_from()
    await anotify_user(alice, {"message": "still open"})
    assert await socket.receive_json_from() == {"message": "still open"}


async def test_a_token_in_the_url_logs_a_script_in(connect, make_user):
    alice = await make_user("alice")
    token = await sync_to_async(make_token)(alice, "/ws/notifications/")
    socket = await connect(f"/ws/notifications/?token={token}")
    await anotify_user(alice, {"message": "to the script"})
    assert await socket.receive_json_from() == {"message": "to the script"}


async def test_a_forged_token_is_refused_even_with_a_session_cookie(connect, make_user, session_headers):
    headers = await session_headers(await make_user("alice"))
    socket = await connect("/ws/notifications/?token=forged", headers=headers)
    assert await socket.receive_output() == {"type": "websocket.close", "code": UNAUTHORIZED}


async def test_a_notification_sent_while_the_page_was_away_arrives_when_it_reconnects(
    connect, make_user, session_headers
):
    alice = await make_user("alice")
    headers = await session_headers(alice)
    page = await connect("/ws/notifications/?since=recent", headers=headers)
    assert await page.receive_json_from() == {"caught_up": 0}
    await anotify_user(alice, {"message": "first"})
    assert await page.receive_json_from() == {"message": "first", "seq": 1}
    await page.disconnect()

    await anotify_user(alice, {"message": "while away"})
    await abroadcast({"message": "to all"})  # broadcasts are live only: not kept
    page = await connect("/ws/notifications/?since=1", headers=headers)
    assert await page.receive_json_from() == {"message": "while away", "seq": 2}
    assert await page.receive_json_from() == {"caught_up": 2}
    assert await page.receive_nothing()


def test_a_kept_notification_must_be_a_json_object():
    with pytest.raises(TypeError, match="JSON object"):
        notify_user(1, ["not", "an", "object"])
