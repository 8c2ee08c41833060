"""Message contracts (contracts.py) and the socket description (asyncapi.py).

A JsonConsumer checks every frame against its contract before its handler: a mismatch gets {"error": ...} naming
the field, and the socket stays open. The AsyncAPI document lists every routed socket with its contract's messages,
their JSON Schemas as pydantic makes them, and the close codes; `manage.py asyncapi` prints it and
/asyncapi.json serves it to staff users. All in-process: no server, no subprocess.
"""

import json
import re

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.urls import path
from django.urls.resolvers import RoutePattern

from {{ cookiecutter.project_slug }} import consumers
from {{ cookiecutter.project_slug }}.asyncapi import (
    CLOSE_CODES,
    SCHEMAS,
    channel_messages,
    contract_of,
    describe,
    query_of,
    sends_of,
    socket_routes,
)
from {{ cookiecutter.project_slug }}.consumers import JsonConsumer
from {{ cookiecutter.project_slug }}.contracts import Contract, contract_for
from {{ cookiecutter.project_slug }}.messages import CatchUpQuery, CaughtUp, Error, Message, Missed
from {{ cookiecutter.project_slug }}.push import PushConsumer
from {{ cookiecutter.project_slug }}.routing import websocket_urlpatterns


class Point(Message):
    x: int
    y: int = 0


class Move(Message):
    """Move the piece."""

    to: Point


class Stop(Message):
    stop: bool


class Moved(Message):
    moved: Point


class Board(JsonConsumer):
    contract = Contract(receives=[Move], sends=[Moved])

    async def receive_json(self, content, **kwargs):
        await self.send_json(Moved(moved=Point(**content["to"])))  # a model is sent as its JSON


class Controls(JsonConsumer):
    contract = Contract(receives=[Move, Stop])

    async def receive_json(self, content, **kwargs):
        await self.send_json({"ok": content})


SPEAKER = Contract(sends=[Moved])


class Speaker(JsonConsumer):
    contract = "{{ cookiecutter.project_slug }}.tests.test_contracts.SPEAKER"  # a dotted path: imported at the first frame


router = URLRouter(
    [path("board/", Board.as_asgi()), path("controls/", Controls.as_asgi()), path("speaker/", Speaker.as_asgi())]
)


async def answers(path, *frames):
    """What the socket at `path` answers to each frame, in order; it must stay open throughout."""
    socket = WebsocketCommunicator(router, path)
    connected, _ = await socket.connect()
    assert connected
    got = []
    for frame in frames:
        await socket.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))
        got.append(await socket.receive_json_from())
    await socket.disconnect()
    return got


async def test_frames_outside_the_contract_get_an_error_naming_the_field_and_never_reach_the_handler():
    assert await answers(
        "/board/",
        {"to": {"x": "1"}},  # strict: a string is not an integer
        {"to": {"x": True}},
        {"to": {"x": 1}, "speed": 3},  # a key the model does not name
        {"to": 5},
        [1],
        '{"to": ',
        {"to": {"x": 2}},
    ) == [
        {"error": "to.x: Input should be a valid integer."},
        {"error": "to.x: Input should be a valid integer."},
        {"error": "speed: Extra inputs are not permitted."},
        {"error": "to: Input should be an object."},
        {"error": "Input should be an object."},
        {"error": "Malformed JSON: Expecting value at position 7."},  # strictjson's, as before any contract
        {"moved": {"x": 2, "y": 0}},
    ]


async def test_a_key_given_twice_keeps_its_last_value_for_the_contract_and_the_handler_alike():
    """JSON allows a key twice in an object; strictjson and the contract's parser (pydantic's) both keep the last
    value, so no frame can pass the contract with one value and reach receive_json with another."""
    assert await answers(
        "/board/",
        '{"to": {"x": 1}, "to": {"x": 2}}',
        '{"to": {"x": 3}, "to": {"x": "3"}}',
        '{"to": {"x": "4"}, "to": {"x": 4}}',
        '{"to": {"x": 5, "x": "5"}}',
    ) == [
        {"moved": {"x": 2, "y": 0}},
        {"error": "to.x: Input should be a valid integer."},
        {"moved": {"x": 4, "y": 0}},
        {"error": "to.x: Input should be a valid integer."},
    ]


async def test_a_contract_of_several_messages_takes_each_and_names_them_in_its_errors():
    ok, stop, wrong = await answers("/controls/", {"to": {"x": 1}}, {"stop": True}, {"stop": "now"})
    assert ok == {"ok": {"to": {"x": 1}}} and stop == {"ok": {"stop": True}}
    assert "Stop.stop: Input should be a valid boolean" in wrong["error"]
    assert "Move.to: Field required" in wrong["error"]


async def test_a_socket_that_only_sends_refuses_every_frame():
    assert await answers("/speaker/", {"anything": 1}) == [{"error": "This socket accepts no messages: it only sends."}]
    assert contract_for(Speaker) is SPEAKER


def test_a_contract_path_that_names_no_contract_fails_loudly():
    class Typo(JsonConsumer):
        contract = "chat.contracts.NO_SUCH_CONTRACT"

    class NotOne(JsonConsumer):
        contract = "json.dumps"

    with pytest.raises(ImportError):
        contract_for(Typo)
    with pytest.raises(TypeError, match="give a Contract, or its dotted path"):
        contract_for(NotOne)


@pytest.fixture(scope="module")
def document():
    return describe()


def routed_addresses():
    """The address of every path() socket route, read from the routing itself (`{room}` for `<str:room>`)."""
    return {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(route.pattern))
        for route in websocket_urlpatterns
        if isinstance(route.pattern, RoutePattern)
    }


def test_every_socket_route_is_described_and_declares_its_contract(document):
    channels = document["channels"].values()
    assert {channel["address"] for channel in channels} == routed_addresses()
    undeclared = [channel["x-consumer"] for channel in channels if not channel["x-contract"]]
    assert not undeclared, f"declare a `contract` on {undeclared} (docs/consumers.md)"
    for channel in channels:
        assert set(channel.get("parameters", {})) == set(re.findall(r"\{(\w+)\}", channel["address"]))


def refs(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def resolve(document, ref):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_document_is_asyncapi_3_whose_references_all_resolve(document):
    assert document["asyncapi"] == "3.0.0" and document["info"]["title"] and document["info"]["version"]
    assert json.loads(json.dumps(document)) == document  # plain JSON
    for ref in refs(document):
        resolve(document, ref)
    for kind in ("schemas", "messages", "securitySchemes"):
        assert all(re.fullmatch(r"[a-zA-Z0-9.\-_]+", key) for key in document["components"][kind])
    for name, operation in document["operations"].items():
        assert operation["action"] in {"send", "receive"}, name
        channel = operation["channel"]["$ref"]
        assert channel.startswith("#/channels/") and operation["messages"], name
        # An operation's messages are its channel's (AsyncAPI 3.0).
        assert all(message["$ref"].startswith(channel + "/messages/") for message in operation["messages"]), name
    for message in document["components"]["messages"].values():
        assert message["contentType"] in {"application/json", "text/plain"} and message["payload"]["$ref"]


def test_message_schemas_are_the_contracts_models(document):
    schemas = document["components"]["schemas"]
    for address, consumer in socket_routes():
        contract = contract_of(consumer)
        expected = {"receive": [m.__name__ for m in contract.receives]}
        expected["send"] = [m.__name__ for m in sends_of(consumer, contract)]
        assert channel_messages(document, "/" + address) == expected
        if issubclass(consumer, JsonConsumer):
            assert Error.__name__ in expected["send"]
        uses = [(model, "validation") for model in contract.receives]
        for model, mode in [*uses, *((model, "serialization") for model in sends_of(consumer, contract))]:
            schema = model.model_json_schema(ref_template=SCHEMAS + "{model}", mode=mode)
            for name, definition in schema.pop("$defs", {}).items():
                assert schemas[name] == definition
            assert schema in schemas.values(), (address, model)


def test_a_socket_that_catches_up_is_described_with_the_catch_up_frames_and_its_query():
    # push.md's kept consumer names only its own messages: its description lacked {"caught_up": n}, {"missed": ...}
    # and ?since=, and nothing said so.
    class Kept(PushConsumer):
        topic, kept = "orders", True
        contract = Contract(sends=[Point])

    class Live(Kept):
        kept = False

    assert sends_of(Kept, contract_of(Kept)) == (Point, CaughtUp, Missed, Error)
    assert query_of(Kept, contract_of(Kept)) is CatchUpQuery
    assert sends_of(Live, contract_of(Live)) == (Point, Error)
    assert query_of(Live, contract_of(Live)) is None


def test_a_socket_that_catches_up_with_a_query_of_its_own_is_described_with_since_too():
    # push.md: the description adds ?since= to every socket that catches up, also one whose contract names a query
    # model that does not derive from CatchUpQuery.
    class Filter(Message):
        status: str | None = None

    class Kept(PushConsumer):
        topic, kept = "orders", True
        contract = Contract(sends=[Point], query=Filter)

    query = query_of(Kept, contract_of(Kept))
    assert query is not None and set(query.model_fields) == {"status", "since"}
    assert query_of(Kept, contract_of(Kept)) is query  # describe() looks its schema up by the model


def test_the_close_codes_are_described(document):
    codes = {int(code) for code in document["x-close-codes"]}
    names = ["NOT_FOUND", "UNAUTHORIZED", "EXPIRED", "BUSY", "TOO_MANY_SOCKETS", "RATE_LIMITED"]
    assert codes == set(CLOSE_CODES) >= {getattr(consumers, name) for name in names}
    for channel in document["channels"].values():
        assert set(channel["x-close-codes"]) <= codes


def test_manage_py_asyncapi_prints_the_document(capsys, document):
    call_command("asyncapi")
    assert json.loads(capsys.readouterr().out) == document
    call_command("asyncapi", host="example.org", protocol="wss")
    assert json.loads(capsys.readouterr().out)["servers"]["default"] == {
        "host": "example.org",
        "protocol": "wss",
        "description": "This project's server.",
    }


@pytest.mark.django_db
def test_asyncapi_json_is_for_staff_only(client, admin_client, django_user_model):
    assert client.get("/asyncapi.json").status_code == 403
    client.force_login(django_user_model.objects.create_user("alice"))
    assert "Staff only" in client.get("/asyncapi.json").json()["error"]
    served = admin_client.get("/asyncapi.json")
    assert served.status_code == 200 and served.json()["servers"]["default"]["host"] == "testserver"
    assert served.json()["channels"].keys() == describe()["channels"].keys()
