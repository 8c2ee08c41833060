import asyncio

import pytest
from channels.layers import get_channel_layer
from channels.testing import ApplicationCommunicator

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.consumers import UNAUTHORIZED
from {{ cookiecutter.project_slug }}.layers import is_in_memory
from {{ cookiecutter.project_slug }}.layers.worker import BoundedWorker

from .. import jobs
from ..consumers import FAILED, WORKER_CHANNEL

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def server(monkeypatch):
    """The server's lifespan, which runs the tasks worker in-process on the in-memory layer.

    With Redis the server leaves the worker to `runworker tasks`: one runs here as that command would.
    """
    monkeypatch.setattr(jobs, "STEP_SECONDS", 0.01)
    lifespan = ApplicationCommunicator(application, {"type": "lifespan", "asgi": {"version": "3.0"}})
    await lifespan.send_input({"type": "lifespan.startup"})
    assert await lifespan.receive_output() == {"type": "lifespan.startup.complete"}
    worker = None
    if not is_in_memory():
        worker = asyncio.create_task(BoundedWorker(application, [WORKER_CHANNEL], get_channel_layer()).arun())
    yield
    if worker:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    await lifespan.send_input({"type": "lifespan.shutdown"})
    assert await lifespan.receive_output() == {"type": "lifespan.shutdown.complete"}


async def updates_until_finished(socket):
    updates = []
    while not updates or updates[-1]["status"] not in {"done", "failed"}:
        updates.append(await socket.receive_json_from(timeout=5))
    return updates


async def test_anonymous_sockets_are_closed_with_4401(connect):
    socket = await connect("/ws/tasks/")
    assert await socket.receive_output() == {"type": "websocket.close", "code": UNAUTHORIZED}


async def test_a_task_reports_each_step_until_done(server, connect, make_user, session_headers):
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("alice")))
    await socket.send_json_to({"start": {"steps": 3}})
    updates = await updates_until_finished(socket)
    task = updates[0]["task"]
    assert [(u["task"], u["status"], u["step"]) for u in updates] == [
        (task, "queued", 0),
        (task, "running", 1),
        (task, "running", 2),
        (task, "running", 3),
        (task, "done", 3),
    ]


async def test_a_failure_is_reported_and_the_worker_goes_on(server, connect, make_user, session_headers, caplog):
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("alice")))
    await socket.send_json_to({"start": {"steps": 4, "fail_at": 2}})
    updates = await updates_until_finished(socket)
    assert [u["status"] for u in updates] == ["queued", "running", "failed"]
    # The page gets a generic line; the detail goes to the log, with its traceback, for the developer.
    assert updates[-1]["error"] == FAILED and "step 2" not in updates[-1]["error"]
    assert "step 2 of 4 failed" in caplog.text
    await socket.send_json_to({"start": {"steps": 1}})
    assert (await updates_until_finished(socket))[-1]["status"] == "done"


async def test_progress_reaches_every_tab_of_the_user_only(server, connect, make_user, session_headers):
    alice, bob = await make_user("alice"), await make_user("bob")
    tab1 = await connect("/ws/tasks/", headers=await session_headers(alice))
    tab2 = await connect("/ws/tasks/", headers=await session_headers(alice))
    bob_tab = await connect("/ws/tasks/", headers=await session_headers(bob))
    await tab1.send_json_to({"start": {"steps": 2}})
    assert (await updates_until_finished(tab1))[-1]["status"] == "done"
    assert [u["status"] for u in await updates_until_finished(tab2)] == ["running", "running", "done"]
    assert await bob_tab.receive_nothing()


@pytest.mark.parametrize(
    "frame",
    [
        {"begin": {}},
        {"start": 5},
        {"start": {"steps": 0}},
        {"start": {"steps": 21}},
        {"start": {"steps": "5"}},
        {"start": {"steps": True}},
        {"start": {"steps": 3, "fail_at": 4}},
        {"start": {"steps": 3, "fail_at": "1"}},
        [1],
    ],
)
async def test_a_bad_start_frame_gets_an_error_and_starts_nothing(connect, make_user, session_headers, frame):
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("alice")))
    await socket.send_json_to(frame)
    answer = await socket.receive_json_from()
    assert set(answer) == {"error"}
    assert await socket.receive_nothing()


@pytest.mark.redis
async def test_with_redis_runworker_runs_the_tasks_in_its_own_process(runworker, connect, make_user, session_headers):
    worker = runworker()
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("alice")))
    await socket.send_json_to({"start": {"steps": 2}})
    updates = []
    while not updates or updates[-1]["status"] not in {"done", "failed"}:
        updates.append(await socket.receive_json_from(timeout=30))
    assert [u["status"] for u in updates] == ["queued", "running", "running", "done"]
    worker.terminate()
    assert worker.wait(timeout=30) == 0


def test_the_page_needs_a_login(client):
    assert client.get("/tasks/").status_code == 302


def test_the_page_renders_for_a_logged_in_user(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice"))
    response = client.get("/tasks/")
    assert response.status_code == 200 and b"tasks.js" in response.content
