import json
import logging

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator

from {{ cookiecutter.project_slug }} import tokens
from {{ cookiecutter.project_slug }}.health import TRY_AGAIN_LATER
from {{ cookiecutter.project_slug }}.middleware import LOGGERS_WITH_URLS, RedactTokens, SocketAuthMiddleware

pytestmark = pytest.mark.django_db(transaction=True)


class WhoAmI(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        await self.send_json({"user": user.get_username() if user and user.is_authenticated else None})


async def who_am_i(query_string):
    communicator = WebsocketCommunicator(SocketAuthMiddleware(WhoAmI.as_asgi()), f"/ws/?{query_string}")
    await communicator.connect()
    answer = (await communicator.receive_json_from())["user"]
    await communicator.disconnect()
    return answer


async def token_for(user):
    return await sync_to_async(tokens.make_token)(user, "/ws/")


async def test_a_valid_token_logs_the_socket_in(make_user):
    alice = await make_user("alice")
    assert await who_am_i(f"token={await token_for(alice)}") == "alice"


async def test_no_token_leaves_the_user_alone():
    assert await who_am_i("") is None


@pytest.mark.parametrize(
    "damage", [lambda t: t[:-1], lambda t: t + "x", lambda t: "x" + t, lambda t: "eyJpZCI6MX0:1tAbCd:Zm9yZ2Vk"]
)
async def test_a_tampered_or_forged_token_is_anonymous_and_never_logged(make_user, caplog, damage):
    token = damage(await token_for(await make_user("alice")))
    with caplog.at_level(logging.DEBUG):
        assert await who_am_i(f"token={token}") is None
    assert "bad signature" in caplog.text
    assert token not in caplog.text


async def test_an_expired_token_is_anonymous(make_user, monkeypatch):
    token = await token_for(await make_user("alice"))
    monkeypatch.setattr(tokens, "MAX_AGE_SECONDS", -1)
    assert await who_am_i(f"token={token}") is None


async def test_a_password_change_or_deactivation_kills_the_token(make_user):
    alice = await make_user("alice")
    token = await token_for(alice)
    alice.set_password("a-new-password-456")
    await alice.asave()
    assert await who_am_i(f"token={token}") is None
    bob = await make_user("bob")
    token = await token_for(bob)
    bob.is_active = False
    await bob.asave()
    assert await who_am_i(f"token={token}") is None


class UnreachableCache:
    def get(self, key, default=None):
        raise redis.ConnectionError("Connection refused")


async def test_a_token_checked_while_the_cache_is_unreachable_closes_the_socket_to_retry(
    make_user, monkeypatch, connect
):
    """Not anonymous, not 4401 (which ends a page's retries): 1013, as for every socket that needs Redis."""
    token = await sync_to_async(tokens.make_token)(await make_user("alice"), "/ws/x/")
    monkeypatch.setattr(tokens, "cache", UnreachableCache())
    socket = await connect(f"/ws/x/?token={token}")
    assert await socket.receive_output() == {"type": "websocket.close", "code": TRY_AGAIN_LATER}


def test_token_endpoint_with_form_credentials(client, django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    response = client.post(
        "/api/ws-token/", {"username": "alice", "password": "pw-alice-123", "path": "/ws/notifications/"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == tokens.MAX_AGE_SECONDS
    assert tokens.user_for_token_sync(body["token"], "/ws/notifications/").get_username() == "alice"


def test_token_endpoint_with_json_credentials(client, django_user_model):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    body = json.dumps({"username": "alice", "password": "pw-alice-123", "path": "/ws/notifications/"})
    response = client.post("/api/ws-token/", body, content_type="application/json")
    assert response.status_code == 200 and response.json()["token"]


def test_token_endpoint_with_a_session(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice"))
    response = client.post("/api/ws-token/", {"path": "/ws/notifications/"})
    assert tokens.user_for_token_sync(response.json()["token"], "/ws/notifications/").get_username() == "alice"


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ({"username": "alice", "password": "wrong", "path": "/ws/"}, None, 401),
        ({"username": "nobody", "password": "pw-alice-123", "path": "/ws/"}, None, 401),
        ({"path": "/ws/"}, None, 401),
        ({"username": "alice", "password": "pw-alice-123"}, None, 400),  # which socket is it for?
        ({"username": "alice", "password": "pw-alice-123", "path": "ws/x"}, None, 400),
        ({"username": "alice", "password": "pw-alice-123", "path": "/ws/../x/"}, None, 400),
        ('{"username": "alice", "password": 1', "application/json", 400),
        ('["alice"]', "application/json", 400),
        ('{"username": ["alice"], "password": {}, "path": "/ws/"}', "application/json", 401),
        ('{"username": "alice", "password": "pw-alice-123", "path": 7}', "application/json", 400),
    ],
)
def test_token_endpoint_refuses_bad_requests_with_json(client, django_user_model, data, content_type, status):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    kwargs = {"content_type": content_type} if content_type else {}
    response = client.post("/api/ws-token/", data, **kwargs)
    assert response.status_code == status
    assert "error" in response.json() and "token" not in response.json()


def test_token_endpoint_only_takes_post(client):
    assert client.get("/api/ws-token/").status_code == 405


def test_server_logs_show_socket_urls_without_tokens():
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, '%s - "WebSocket %s" [accepted]', None, None)
    record.args = ("127.0.0.1:5000", "/ws/notifications/?a=1&token=SECRET.abc-_:x&b=2")
    RedactTokens().filter(record)
    assert "SECRET" not in record.getMessage()
    assert "/ws/notifications/?a=1&token=[redacted]&b=2" in record.getMessage()


def test_the_project_app_puts_the_filter_on_the_server_logger_once():
    from django.apps import apps

    apps.get_app_config("{{ cookiecutter.project_slug }}").ready()  # a second ready() adds no second filter
    for name in LOGGERS_WITH_URLS:
        server_filters = logging.getLogger(name).filters
        assert [type(f) for f in server_filters if isinstance(f, RedactTokens)] == [RedactTokens], name
