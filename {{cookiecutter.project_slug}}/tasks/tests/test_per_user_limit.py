"""settings.TASKS_PER_USER: a user's queued and running tasks are counted in the cache shared by every process
(slots.py); past the limit the page gets FULL and nothing is queued; a task that ends frees its slot."""

import json

import pytest
import websockets

from .. import jobs
from ..consumers import FULL

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 30  # seconds: a bound on hanging, never a wait


async def test_past_the_limit_the_page_is_told_so_and_nothing_is_queued(
    connect, make_user, session_headers, settings, drain
):
    settings.TASKS_PER_USER = 3
    alice = await connect("/ws/tasks/", headers=await session_headers(await make_user("alice")))
    for _ in range(4):
        await alice.send_json_to({"start": {"steps": 1}})
    answers = [await alice.receive_json_from(timeout=WAIT) for _ in range(4)]
    assert [answer.get("status") for answer in answers[:3]] == ["queued"] * 3
    assert answers[3] == {"error": FULL.format(3)}
    # Another user has slots of their own.
    bob = await connect("/ws/tasks/", headers=await session_headers(await make_user("bob")))
    await bob.send_json_to({"start": {"steps": 1}})
    assert (await bob.receive_json_from(timeout=WAIT))["status"] == "queued"
    assert await drain() == 4  # alice's three and bob's one: the refused task was never sent to the worker


async def test_a_task_that_ends_frees_its_slot(
    start_worker, connect, make_user, session_headers, settings, monkeypatch
):
    monkeypatch.setattr(jobs, "STEP_SECONDS", 0.01)
    settings.TASKS_PER_USER = 1
    socket = await connect("/ws/tasks/", headers=await session_headers(await make_user("alice")))
    await socket.send_json_to({"start": {"steps": 1, "fail_at": 1}})
    assert (await socket.receive_json_from(timeout=WAIT))["status"] == "queued"
    await socket.send_json_to({"start": {"steps": 1}})
    assert await socket.receive_json_from(timeout=WAIT) == {"error": FULL.format(1)}
    start_worker()
    assert (await socket.receive_json_from(timeout=WAIT))["status"] == "failed"
    for _ in range(2):  # the failed task has freed its slot, and so does each done one
        await socket.send_json_to({"start": {"steps": 1}})
        updates = [await socket.receive_json_from(timeout=WAIT) for _ in range(3)]
        assert [u["status"] for u in updates] == ["queued", "running", "done"]


@pytest.mark.redis
async def test_the_limit_counts_the_tasks_started_on_every_server_process(
    uvicorn_server, shared_cache, connect, make_user, session_headers, drain
):
    headers = await session_headers(await make_user("alice"))
    cookie = dict(headers)[b"cookie"].decode()
    url = uvicorn_server.url.replace("http", "ws", 1) + "/ws/tasks/"
    # Ten tasks, the default limit, started through the real server process...
    async with websockets.connect(url, origin=uvicorn_server.url, additional_headers={"Cookie": cookie}) as other:
        for _ in range(10):
            await other.send(json.dumps({"start": {"steps": 1}}))
        for _ in range(10):
            assert json.loads(await other.recv())["status"] == "queued"
    # ...leave none for this process.
    socket = await connect("/ws/tasks/", headers=headers)
    await socket.send_json_to({"start": {"steps": 1}})
    assert await socket.receive_json_from(timeout=WAIT) == {"error": FULL.format(10)}
    assert await drain() == 10
