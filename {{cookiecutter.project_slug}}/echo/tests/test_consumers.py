import pytest

pytestmark = pytest.mark.django_db(transaction=True)


async def test_raw_echo_returns_text_and_bytes(connect):
    socket = await connect("/ws/echo/")
    await socket.send_to(text_data="hello")
    assert await socket.receive_from() == "hello"
    await socket.send_to(bytes_data=b"\x00\x01")
    assert await socket.receive_from() == b"\x00\x01"


async def test_json_echo_returns_the_same_json(connect):
    socket = await connect("/ws/echo-json/")
    await socket.send_json_to({"hello": ["world", 1, None]})
    assert await socket.receive_json_from() == {"hello": ["world", 1, None]}


async def test_json_echo_answers_malformed_json_with_an_error_and_stays_open(connect):
    socket = await connect("/ws/echo-json/")
    await socket.send_to(text_data="{not json")
    assert "Malformed JSON" in (await socket.receive_json_from())["error"]
    await socket.send_to(bytes_data=b"\x00")
    assert "Binary frames" in (await socket.receive_json_from())["error"]
    await socket.send_json_to({"still": "open"})
    assert await socket.receive_json_from() == {"still": "open"}


async def test_sync_echo_runs_in_a_thread_and_echoes(connect):
    socket = await connect("/ws/echo-sync/")
    await socket.send_to(text_data="from a thread")
    assert await socket.receive_from() == "from a thread"


def test_echo_page_lists_the_sockets(client):
    response = client.get("/echo/")
    assert response.status_code == 200
    assert b"/ws/echo-json/" in response.content
