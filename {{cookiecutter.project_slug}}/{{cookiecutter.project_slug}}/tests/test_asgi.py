import gc

import pytest
from channels.testing import ApplicationCommunicator

from {{ cookiecutter.project_slug }} import health
from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.consumers import NOT_FOUND

pytestmark = pytest.mark.django_db(transaction=True)


async def test_foreign_origin_is_refused_and_the_log_says_why(refused, caplog):
    await refused("/ws/echo/", headers=[(b"origin", b"http://evil.example")])
    assert "WebSocket refused: Origin 'http://evil.example' is not this server's origin" in caplog.text


async def test_missing_origin_is_refused_and_the_log_says_why(refused, caplog):
    # Browsers always send Origin; a script that omits it must send an allowed one.
    await refused("/ws/echo/", headers=[])
    assert "WebSocket refused: no Origin header" in caplog.text


async def test_allowed_origin_reaches_the_router(connect):
    # The development server's own origin.
    await connect("/ws/no-such-socket/", headers=[(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")])


async def test_unknown_path_is_closed_with_not_found_code(connect):
    communicator = await connect("/ws/no-such-socket/")
    assert await communicator.receive_output() == {"type": "websocket.close", "code": NOT_FOUND}


async def test_lifespan_starts_and_stops():
    gc.unfreeze()
    communicator = ApplicationCommunicator(application, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await communicator.send_input({"type": "lifespan.startup"})
    assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
    assert gc.get_freeze_count() > 0  # what startup loaded is out of the collector's sight
    await communicator.send_input({"type": "lifespan.shutdown"})
    assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}
    await communicator.wait()


async def test_an_error_during_startup_fails_the_start_instead_of_reading_as_no_lifespan(monkeypatch, caplog):
    # Raised out of the app, uvicorn (--lifespan auto) logs "lifespan unsupported" and serves without workers.
    async def broken():
        raise RuntimeError("the layer check broke")

    monkeypatch.setattr(health, "check_channel_layer", broken)
    communicator = ApplicationCommunicator(application, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await communicator.send_input({"type": "lifespan.startup"})
    assert await communicator.receive_output() == {
        "type": "lifespan.startup.failed",
        "message": "RuntimeError: the layer check broke",
    }
    assert "The server could not start." in caplog.text and "Traceback" in caplog.text
    await communicator.wait()


def test_home_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Welcome" in response.content
