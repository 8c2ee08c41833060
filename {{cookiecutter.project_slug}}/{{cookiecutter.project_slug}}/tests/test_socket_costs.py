"""What an open socket and each of its messages cost the server, counted (tasks, session reads), never timed.

Every layer of asgi.py's stack runs for every message of every socket: a task or an asyncio.wait() per message
anywhere on that path costs more CPU than an echo itself (the template's `make speed` measures it), and a task
held per socket costs memory and garbage-collector time for as long as the socket is open.
"""

import asyncio

import pytest
from channels.sessions import InstanceSessionWrapper

from {{ cookiecutter.project_slug }}.testing.routes import routed_paths

pytestmark = pytest.mark.django_db(transaction=True)

ECHO = "/ws/echo/"
SOCKETS = 10


@pytest.fixture
def echo_path():
    if ECHO not in routed_paths():
        pytest.skip(f"{ECHO} (the demo apps' echo socket) is not routed")
    return ECHO


@pytest.fixture
async def tasks_created():
    """A list that every task the event loop creates from now on is appended to."""
    loop = asyncio.get_running_loop()
    created, factory = [], loop.get_task_factory()

    def counting_factory(loop, coro, **kwargs):
        task = factory(loop, coro, **kwargs) if factory else asyncio.Task(coro, loop=loop, **kwargs)
        created.append(task)
        return task

    loop.set_task_factory(counting_factory)
    yield created
    loop.set_task_factory(factory)


async def test_a_message_costs_the_server_no_task(connect, echo_path, tasks_created):
    socket = await connect(echo_path)
    tasks_created.clear()  # the handshake's are not counted
    for n in range(50):
        await socket.send_to(text_data=str(n))
        assert await socket.receive_from() == str(n)
    assert tasks_created == []


async def test_frames_sent_bypass_the_session_wrapper(connect, echo_path, monkeypatch):
    # Channels' wrapper saves a changed session only on http.response.start, yet read the session on every frame.
    async def refuse(self, message):
        raise AssertionError(f"{message['type']} went through Channels' session wrapper")

    monkeypatch.setattr(InstanceSessionWrapper, "send", refuse)
    socket = await connect(echo_path)
    await socket.send_to(text_data="hello")
    assert await socket.receive_from() == "hello"


async def test_an_idle_socket_holds_one_task_besides_the_servers(connect, echo_path):
    await (await connect(echo_path)).send_to(text_data="warm-up")  # what a process starts once is not counted
    before = asyncio.all_tasks()
    for _ in range(SOCKETS):
        await connect(echo_path)
    alive = asyncio.all_tasks() - before
    # Per socket: the server's task running the application (the communicator's here) and its channel's reader.
    assert len(alive) <= 2 * SOCKETS, [task.get_coro() for task in alive]


def waiting_coroutines(task):
    """The qualified names of the coroutines `task` waits through, outermost first (each awaits the next)."""
    names, coroutine = [], task.get_coro()
    while hasattr(coroutine, "cr_await"):
        names.append(coroutine.cr_code.co_qualname)
        coroutine = coroutine.cr_await
    return names


async def test_an_idle_socket_waits_through_one_coroutine_per_middleware_that_needs_one(connect, echo_path):
    # Each coroutine on the chain is held for the socket's life and resumed for every message it receives.
    socket = await connect(echo_path)
    await socket.send_to(text_data="hello")
    assert await socket.receive_from() == "hello"
    chain = waiting_coroutines(socket.future)
    # 10: the router, DependencyGuard, SocketLifetimeMiddleware and its receive, SocketAuthMiddleware, URLRouter,
    # the consumer's three, the server's receive. Before: 17 (Channels' cookie, session and auth middleware, four;
    # the token, Origin, socket-cap and login-lifetime middleware each waited too).
    assert len(chain) <= 10, chain
    assert not any(name.startswith(("SameOriginMiddleware", "SocketCapMiddleware", "LoginLifetime")) for name in chain)
