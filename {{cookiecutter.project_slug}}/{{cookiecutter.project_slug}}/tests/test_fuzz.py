"""Fuzzing what clients can send: every JSON consumer of the project, through the whole ASGI stack, and the
`/api/ws-token/` view. Any frame gets its normal answer or an {"error": ...} frame, never a closed socket or a
traceback; any body gets an HTTP answer below 500. Runs on both layers (pytest and pytest --redis).

Examples are bounded (hypothesis `max_examples`); the known crashers (deeply nested arrays, integers of more than
4,300 digits, lone surrogates, NaN and Infinity) go to every route on every run, and are drawn among the rest.
"""

import asyncio
import json
import logging

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.urls.resolvers import RoutePattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.project_slug }}.asgi import application
from {{ cookiecutter.project_slug }}.consumers import JsonConsumer
from {{ cookiecutter.project_slug }}.routing import channel_workers, websocket_urlpatterns
from {{ cookiecutter.project_slug }}.testing.routes import closed_at_connect, sample_path, untestable
from {{ cookiecutter.project_slug }}.tests.strategies import json_values, scalars

pytestmark = pytest.mark.django_db(transaction=True)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# A frame JsonConsumer always answers with an error no fuzzed frame gets: sent after each fuzzed frame, its
# answer marks the end of the fuzzed frame's answers (a consumer handles its frames in order). The error names
# where the frame goes wrong, in strictjson's words ("at position 7778") as in json's ("(char 7778)").
SENTINEL = " " * 7777 + "{"
SENTINEL_ERROR = "7778"
ANSWER_SECONDS = 10


def is_utf8(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Shaped like the demo apps' frames (chat's message, tasks' start), so that the fuzzing reaches past their first checks.
shaped = st.fixed_dictionaries({"message": scalars}) | st.fixed_dictionaries(
    {"start": st.fixed_dictionaries({"steps": scalars}, optional={"fail_at": scalars})}
)
# What a browser can put in a text frame: any valid Unicode (the server decodes UTF-8, so no lone surrogates).
utf8_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=50)
# Frames that crashed a consumer once, or would crash a careless decoder: every one goes to every route on every run
# (test_every_known_crasher_...), and the fuzzing draws from them too.
CRASHERS = [
    "[" * 100_000 + "]" * 100_000,
    '{"message": ' * 50_000 + "1" + "}" * 50_000,
    "9" * 5000,
    '{"message": "x", "n": ' + "1" * 4301 + "}",
    '{"start": {"steps": ' + "2" * 5000 + "}}",
    '{"message": "\\ud800"}',
    '{"message": "a\\udfffb"}',
    '{"\\ud800": 1}',
    "NaN",
    '{"message": NaN}',
    "[Infinity, -Infinity]",
    '{"start": {"steps": 1e400}}',
    "1e999",
    "",
    " ",
    "\ufeff{}",
]
frames = st.one_of(
    st.sampled_from(CRASHERS),
    st.integers(1, 30_000).map(lambda depth: "[" * depth + "]" * depth),
    json_values.map(json.dumps),  # NaN/Infinity for float("nan"), \udXXX escapes for lone surrogates
    shaped.map(json.dumps),
    json_values.map(lambda value: json.dumps(value, ensure_ascii=False)).filter(is_utf8),
    utf8_text,
)


def json_routes():
    """(path, consumer class) of every route whose consumer is a JsonConsumer, its parameters filled with
    testing/routes.py's sample values."""
    found = []
    for route in websocket_urlpatterns:
        consumer = getattr(route.callback, "consumer_class", None)
        if consumer is None or not issubclass(consumer, JsonConsumer) or not isinstance(route.pattern, RoutePattern):
            continue
        found.append((sample_path(route), consumer))
    return found


NO_ROUTE = pytest.mark.skip(reason="no JsonConsumer is routed by a path() route")
ROUTES = json_routes() or [pytest.param(None, None, marks=NO_ROUTE)]


def strict_json(text):
    """The value of `text`, failing on what JSON does not allow (NaN, Infinity) and on lone surrogates."""

    def reject(constant):
        raise AssertionError(f"the server sent {constant}, which is not JSON: {text[:200]!r}")

    value = json.loads(text, parse_constant=reject)
    text.encode("utf-8")
    return value


@pytest.fixture
async def fuzzed_socket(request, make_user, session_headers):
    """A logged-in socket on the route under test, closed (and workers' channels drained) at teardown."""
    path = request.node.callspec.params["path"]
    user = await make_user("fuzzer")
    socket = WebsocketCommunicator(application, path, headers=await session_headers(user))
    connected, _ = await socket.connect()
    assert connected, f"{path} refused a logged-in socket"
    close = await closed_at_connect(socket)
    if close is not None:
        pytest.skip(untestable(path, close))
    yield socket
    await socket.disconnect()
    # Frames that started work left jobs on the workers' channels: take them off, so later tests' workers
    # do not run them.
    layer = get_channel_layer()
    for channel in channel_workers:
        while True:
            try:
                await asyncio.wait_for(layer.receive(channel), 0.2)
            except TimeoutError:
                break


@pytest.mark.parametrize(("path", "consumer"), ROUTES)
@FUZZ
@given(frame=frames | st.binary(max_size=20))
async def test_every_frame_gets_an_answer_or_an_error_never_a_crash(fuzzed_socket, path, consumer, frame, caplog):
    await answers_or_errors(fuzzed_socket, path, frame, caplog)


@pytest.mark.parametrize(("path", "consumer"), ROUTES)
async def test_every_known_crasher_gets_an_answer_or_an_error(fuzzed_socket, path, consumer, caplog):
    for frame in CRASHERS:  # one socket for all: each must leave it open for the next
        await answers_or_errors(fuzzed_socket, path, frame, caplog)


async def answers_or_errors(socket, path, frame, caplog):
    """Send `frame` (text or bytes), then the SENTINEL; fail unless each answer up to the sentinel's error is JSON
    (no NaN, no lone surrogate) and no traceback was logged."""
    caplog.set_level(logging.WARNING)
    # send_input, not send_to: an empty frame is a frame too.
    kind = "bytes" if isinstance(frame, bytes) else "text"
    await socket.send_input({"type": "websocket.receive", kind: frame})
    await socket.send_to(text_data=SENTINEL)
    answers = []
    while True:
        try:
            output = await socket.receive_output(timeout=ANSWER_SECONDS)
        except (TimeoutError, asyncio.CancelledError):
            pytest.fail(
                f"{path} sent no error naming {SENTINEL_ERROR!r} within {ANSWER_SECONDS} s after {frame[:200]!r}, "
                f"then {SENTINEL[-1]!r} after {len(SENTINEL) - 1} spaces (an overridden decode_json must raise "
                f"ValueError naming the position, as json does); its answers: {answers}"
            )
        assert output["type"] == "websocket.send", f"{path} closed the socket on {frame[:200]!r}: {output}"
        answer = strict_json(output["text"])
        answers.append(answer)
        if isinstance(answer, dict) and SENTINEL_ERROR in str(answer.get("error")):
            break
        assert len(answers) < 10, answers
    for answer in answers:
        assert isinstance(answer, dict | list | str | int | float | bool | None)
    assert not [record for record in caplog.records if record.exc_info], "a client's frame logged a traceback"


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"message": "' + "1" * 10 + '", "n": ' + "9" * 5000 + "}", "NaN"]
)
async def test_the_json_echo_answers_what_it_cannot_echo_with_an_error(connect, text):
    if not any(path == "/ws/echo-json/" for path, _ in json_routes()):
        pytest.skip("/ws/echo-json/ (the demo apps' JSON echo socket) is not routed")
    socket = await connect("/ws/echo-json/")
    await socket.send_to(text_data=text)
    assert set(await socket.receive_json_from()) == {"error"}
    await socket.send_json_to({"still": "open"})
    assert await socket.receive_json_from() == {"still": "open"}


@FUZZ
@given(body=frames | st.binary(max_size=50), content_type=st.sampled_from(["application/json", "text/plain"]))
def test_ws_token_bodies_get_a_client_error_never_a_server_error(client, body, content_type):
    response = client.post("/api/ws-token/", data=body, content_type=content_type)
    assert 400 <= response.status_code < 500, (body[:200], response.status_code)
