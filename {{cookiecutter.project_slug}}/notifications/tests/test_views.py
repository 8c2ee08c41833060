import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_page_needs_a_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_renders_for_a_logged_in_user(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice"))
    response = client.get("/notifications/")
    assert response.status_code == 200
    assert b"notifications.js" in response.content and b"Notify me" in response.content


async def test_the_send_view_pushes_to_the_users_socket(connect, make_user, session_headers, async_client):
    alice = await make_user("alice")
    socket = await connect("/ws/notifications/", headers=await session_headers(alice))
    await async_client.aforce_login(alice)
    response = await async_client.post("/notifications/send/", {"message": "from a view"})
    assert response.status_code == 200
    assert await socket.receive_json_from() == {"message": "from a view", "from": "alice"}


@pytest.mark.parametrize(("data", "status"), [({"message": ""}, 400), ({"message": "x", "to": "all"}, 403)])
async def test_bad_sends_get_a_json_error(make_user, async_client, data, status):
    await async_client.aforce_login(await make_user("alice"))
    response = await async_client.post("/notifications/send/", data)
    assert response.status_code == status and "error" in response.json()


async def test_staff_may_broadcast(connect, make_user, session_headers, async_client):
    boss, bob = await make_user("boss", is_staff=True), await make_user("bob")
    socket = await connect("/ws/notifications/", headers=await session_headers(bob))
    await async_client.aforce_login(boss)
    response = await async_client.post("/notifications/send/", {"message": "all hands", "to": "all"})
    assert response.status_code == 200
    assert await socket.receive_json_from() == {"message": "all hands", "from": "boss"}
