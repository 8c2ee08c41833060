import pytest

pytestmark = pytest.mark.django_db(transaction=True)


async def test_two_clients_in_one_room_see_each_other_and_another_room_does_not(connect):
    alice = await connect("/ws/chat/lobby/")
    bob = await connect("/ws/chat/lobby/")
    carol = await connect("/ws/chat/kitchen/")

    await alice.send_json_to({"message": "hi bob"})
    expected = {"message": "hi bob", "user": "anonymous"}
    assert await alice.receive_json_from() == expected
    assert await bob.receive_json_from() == expected
    assert await carol.receive_nothing()


@pytest.mark.parametrize("room", ["café au lait", "x" * 200, "日本語"])
async def test_any_room_name_works(connect, room):
    socket = await connect(f"/ws/chat/{room}/")
    await socket.send_json_to({"message": "hello"})
    assert (await socket.receive_json_from())["message"] == "hello"


@pytest.mark.parametrize(
    "frame", [{"text": "hi"}, {"message": ""}, {"message": 42}, ["message"], {"message": "x" * 4001}]
)
async def test_a_frame_that_is_not_a_chat_message_gets_an_error_and_the_socket_stays_open(connect, frame):
    socket = await connect("/ws/chat/lobby/")
    await socket.send_json_to(frame)
    assert "error" in await socket.receive_json_from()
    await socket.send_json_to({"message": "still here"})
    assert (await socket.receive_json_from())["message"] == "still here"


async def test_logged_in_users_are_named(connect, django_user_model, client):
    from asgiref.sync import sync_to_async

    user = await sync_to_async(django_user_model.objects.create_user)("alice", password="pw-alice-123")
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    socket = await connect("/ws/chat/lobby/", headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)])
    await socket.send_json_to({"message": "hello"})
    assert (await socket.receive_json_from())["user"] == "alice"


def test_pages_render_and_escape_the_room_name(client):
    assert client.get("/chat/").status_code == 200
    response = client.get("/chat/<b>café/")
    assert response.status_code == 200
    assert b"<b>" not in response.content
