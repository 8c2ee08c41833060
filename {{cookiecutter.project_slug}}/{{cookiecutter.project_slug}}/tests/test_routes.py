"""testing/routes.py: the paths the project-wide tests open on every route, and the sockets they must skip."""

import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.urls import path

from {{ cookiecutter.project_slug }}.testing.routes import closed_at_connect, sample_path


class Greeter(AsyncJsonWebsocketConsumer):
    """Accepts, says hello, and closes at once unless the poll is 1 (as a consumer refusing an unknown id does)."""

    async def connect(self):
        await self.accept()
        await self.send_json({"hello": "welcome"})
        if self.scope["url_route"]["kwargs"]["poll_id"] != 1:
            await self.close(code=4404)


@pytest.mark.parametrize("route", ["ws/polls/<int:poll_id>/", "ws/rooms/<slug:room>/", "ws/<uuid:id>/", "ws/<name>/"])
def test_each_sample_path_matches_its_route(route):
    # Filled with a word, an <int:...> route matched nothing: its socket was refused as not found (4404).
    pattern = path(route, Greeter.as_asgi()).pattern
    assert pattern.match(sample_path(path(route, Greeter.as_asgi()))[1:]) is not None


@pytest.mark.parametrize(("poll", "closed"), [(1, False), (2, True)])
async def test_closed_at_connect_tells_a_socket_its_consumer_closes_at_once(poll, closed):
    route = path("ws/polls/<int:poll_id>/", Greeter.as_asgi())
    socket = WebsocketCommunicator(route.callback, f"/ws/polls/{poll}/")
    socket.scope["url_route"] = {"args": (), "kwargs": {"poll_id": poll}}
    assert (await socket.connect())[0]
    close = await closed_at_connect(socket)
    assert (close == {"type": "websocket.close", "code": 4404}) if closed else close is None
    await socket.disconnect()
