"""Each bake describes its sockets: `manage.py asyncapi` prints an AsyncAPI 3.0 document of every socket route with
its consumer's message contract (the bake's contracts.py and asyncapi.py), checked here as a client's tooling would
read it. The bake's own tests/test_contracts.py checks the same document in-process against the contracts' models."""

import json
import re

import pytest

from .support.bakes import run_in

DEMO_CHANNELS = {
    "/ws/echo/": {"receive": ["Text"], "send": ["Text"]},
    "/ws/echo-json/": {"receive": ["AnyJson"], "send": ["AnyJson", "Error"]},
    "/ws/echo-sync/": {"receive": ["Text"], "send": ["Text"]},
    "/ws/chat/{room}/": {"receive": ["Say"], "send": ["Said", "Presence", "CaughtUp", "Missed", "Error"]},
    "/ws/notifications/": {"receive": [], "send": ["Notification", "Broadcast", "CaughtUp", "Missed", "Error"]},
    "/ws/tasks/": {"receive": ["Start"], "send": ["Progress", "Ended", "Error"]},
    "/ws/tasks/jobs/": {"receive": ["Start"], "send": ["JobState", "Error"]},
}
CLOSE_CODES = {1009, 1013, 4401, 4404, 4408, 4409, 4429, 4503}


def resolve(document, ref):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(value):
    if isinstance(value, dict):
        yield from (item for key, item in value.items() if key == "$ref")
        yield from (ref for key, item in value.items() if key != "$ref" for ref in refs(item))
    elif isinstance(value, list):
        yield from (ref for item in value for ref in refs(item))


def messages_by_address(document):
    """{address: {"receive": [message titles], "send": [...]}}, read through the operations' references."""
    found = {channel["address"]: {"receive": [], "send": []} for channel in document["channels"].values()}
    for operation in document["operations"].values():
        channel = resolve(document, operation["channel"]["$ref"])
        for ref in operation["messages"]:
            message = resolve(document, resolve(document, ref["$ref"])["$ref"])
            found[channel["address"]][operation["action"]].append(message["title"])
    return found


@pytest.mark.fast
def test_the_bake_describes_every_socket_with_its_contract(baked):
    _, context, project = baked
    document = json.loads(run_in(project, "python", "manage.py", "asyncapi").stdout)
    assert document["asyncapi"] == "3.0.0" and document["info"]["title"] and document["info"]["version"]
    assert document["servers"]["default"] == {
        "host": "127.0.0.1:8000",
        "protocol": "ws",
        "description": "This project's server.",
    }
    for ref in refs(document):
        resolve(document, ref)
    for kind, components in document["components"].items():
        assert all(re.fullmatch(r"[a-zA-Z0-9.\-_]+", key) for key in components), kind
    expected = DEMO_CHANNELS if context.get("include_demo_apps", True) else {}
    assert messages_by_address(document) == expected
    for cid, channel in document["channels"].items():
        assert channel["x-contract"], f"{channel['x-consumer']} declares no contract"
        assert set(channel.get("parameters", {})) == set(re.findall(r"\{(\w+)\}", channel["address"])), cid
        assert set(channel["x-close-codes"]) <= CLOSE_CODES
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        assert operation["action"] in {"send", "receive"} and operation["messages"], name
        assert all(message["$ref"].startswith(channel + "/messages/") for message in operation["messages"]), name
    for message in document["components"]["messages"].values():
        schema = resolve(document, message["payload"]["$ref"])
        assert schema["title"] == message["title"]
        assert message["contentType"] == ("text/plain" if message["title"] == "Text" else "application/json")
    assert {int(code) for code in document["x-close-codes"]} == CLOSE_CODES
    # The close codes' table in the bake's socket docs lists each code a client can get.
    table = re.findall(r"^\| (\d{4}) \|", (project / "docs" / "sockets.md").read_text(), re.MULTILINE)
    assert CLOSE_CODES <= {int(code) for code in table}, "docs/sockets.md's close codes"
    if expected:
        # The tasks socket's frame, as its page sends it, and the constraint the contract puts on it.
        steps = resolve(document, "#/components/schemas/Steps")["properties"]["steps"]
        assert (steps["type"], steps["minimum"], steps["maximum"]) == ("integer", 1, 20)
        assert document["channels"]["chat_room"]["bindings"]["ws"]["query"]["properties"].keys() == {
            "since",
            "presence",
        }
