"""The machine-readable description of every socket: an AsyncAPI 3.0 document, built from the routes of every app
in settings.PROJECT_APPS (routing.py) and each consumer's `contract` (contracts.py).

Each socket route is a channel (its path as the address, `{room}` for a route parameter) with two operations:
`receive_<channel>`, the messages the server accepts, and `send_<channel>`, those it sends (with the error frame
every JsonConsumer may send). Message payloads are the JSON Schemas pydantic makes of the contract's models, under
components.schemas; the close codes are in `x-close-codes`, the whole document's and each channel's.

`manage.py asyncapi` prints it; `/asyncapi.json` serves it to staff users (views.asyncapi_json). AsyncAPI tools
(AsyncAPI Studio, the asyncapi CLI, code generators) read it.
"""

import functools
import inspect
import re
import tomllib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.urls.resolvers import RoutePattern
from pydantic import BaseModel, create_model
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from {{ cookiecutter.project_slug }}.consumers import (
    BUSY,
    EXPIRED,
    NOT_FOUND,
    RATE_LIMITED,
    TOO_MANY_SOCKETS,
    UNAUTHORIZED,
    JsonConsumer,
    NotFoundConsumer,
    OwnThreadMixin,
)
from {{ cookiecutter.project_slug }}.contracts import Contract, contract_for
from {{ cookiecutter.project_slug }}.health import TRY_AGAIN_LATER
from {{ cookiecutter.project_slug }}.history import CatchUpMixin
from {{ cookiecutter.project_slug }}.messages import AnyJson, CatchUpQuery, CaughtUp, Error, Missed, Text
from {{ cookiecutter.project_slug }}.push import PushConsumer

ASYNCAPI_VERSION = "3.0.0"
WS_BINDING_VERSION = "0.1.0"
SCHEMAS = "#/components/schemas/"
TOO_BIG = 1009  # RFC 6455's "message too big": a frame over server.py's --ws-max-size

# What each close code means to a client (consumers.py and health.py define them; docs/sockets.md explains them).
CLOSE_CODES = {
    NOT_FOUND: "No socket route matches the path.",
    UNAUTHORIZED: "The socket needs a logged-in user (session cookie or ?token=), or its login ended.",
    EXPIRED: "The socket reached its maximum age: reconnect at once.",
    TOO_MANY_SOCKETS: "The user (an anonymous socket: its address) holds its maximum of open sockets: retry later.",
    RATE_LIMITED: "The client kept sending over its message rate limit after an error frame said so.",
    BUSY: "This server process holds its maximum of sync consumers' sockets: retry later.",
    TRY_AGAIN_LATER: "The server cannot reach Redis now: retry later.",
    TOO_BIG: "The client sent a frame over 1 MiB.",
}
EVERY_SOCKET = [EXPIRED, TOO_MANY_SOCKETS, TRY_AGAIN_LATER, TOO_BIG]  # beside UNAUTHORIZED for a login that ends

Route = tuple[str, type[Any]]  # (address, consumer class)


def socket_routes(patterns: list[Any] | None = None, prefix: str = "") -> list[Route]:
    """(address, consumer class) of every socket route, in routing order, nested URLRouters included; the
    catch-all that closes unknown paths with NOT_FOUND is left out. A route parameter is `{name}` in the address."""
    if patterns is None:
        from {{ cookiecutter.project_slug }}.routing import websocket_urlpatterns  # imports every app's consumers

        patterns = websocket_urlpatterns
    found: list[Route] = []
    for route in patterns:
        address = prefix + address_of(route.pattern)
        callback = getattr(route, "callback", None)
        nested = getattr(callback, "routes", None)  # path("ws/", URLRouter([...]))
        if nested is not None:
            found.extend(socket_routes(nested, address))
            continue
        consumer = getattr(callback, "consumer_class", None)
        if consumer is not None and consumer is not NotFoundConsumer:
            found.append((address, consumer))
    return found


def address_of(pattern: Any) -> str:
    """A route's path as an AsyncAPI address part: `ws/chat/<str:room>/` -> `ws/chat/{room}/` (re_path: its named
    groups become `{name}`, anchors and escapes are dropped)."""
    text = str(pattern)
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)
    text = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", r"{\1}", text)
    return re.sub(r"\\(.)", r"\1", text.removeprefix("^").removesuffix("$").removeprefix("\\A").removesuffix("\\Z"))


def contract_of(consumer: type[Any]) -> Contract:
    """The consumer's contract; a consumer without one is described as taking and sending any JSON."""
    return contract_for(consumer) or Contract(receives=[AnyJson], sends=[AnyJson])


def sends_of(consumer: type[Any], contract: Contract) -> tuple[type[BaseModel], ...]:
    """What the consumer sends, in this order: its contract's messages, CaughtUp and Missed for a socket that
    catches up (history.CatchUpMixin), and the error frame of every JsonConsumer."""
    added: list[type[BaseModel]] = [CaughtUp, Missed] if catches_up(consumer) else []
    if issubclass(consumer, JsonConsumer):
        added.append(Error)
    return tuple(dict.fromkeys([*contract.sends, *added]))


def query_of(consumer: type[Any], contract: Contract) -> type[BaseModel] | None:
    """The query string the consumer reads: its contract's `query`, with CatchUpQuery's `?since=` for a socket
    that catches up (CatchUpQuery itself when the contract names none); None for none."""
    query = contract.query
    if not catches_up(consumer) or (query is not None and issubclass(query, CatchUpQuery)):
        return query
    return CatchUpQuery if query is None else with_since(query)


@functools.cache
def with_since(query: type[BaseModel]) -> type[BaseModel]:
    """`query` with CatchUpQuery's `since` added, under its own name; one model per query, as describe() looks
    schemas up by the model."""
    return create_model(
        query.__name__, __base__=(query, CatchUpQuery), __module__=query.__module__, __doc__=query.__doc__
    )


def catches_up(consumer: type[Any]) -> bool:
    """Whether the consumer's sockets catch up with `?since=` (history.CatchUpMixin, `kept`)."""
    return issubclass(consumer, CatchUpMixin) and bool(consumer.kept)


def close_codes_of(consumer: type[Any]) -> list[int]:
    codes = [*EVERY_SOCKET, UNAUTHORIZED]
    if issubclass(consumer, JsonConsumer):
        codes.append(RATE_LIMITED)
    if issubclass(consumer, OwnThreadMixin):
        codes.append(BUSY)
    return sorted(codes)


def channel_id(address: str, taken: dict[str, Any]) -> str:
    """`ws/chat/{room}/` -> `chat_room`; a second channel of the same id gets `_2`."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", address.removeprefix("ws/")).strip("_") or "root"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}_{number}"
    return name


def docstring_of(cls: type[Any]) -> str:
    """A class's own docstring, dedented ("" without one: not its base class's)."""
    doc = cls.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def summary_of(cls: type[Any]) -> str:
    """The first paragraph of a class's own docstring, on one line."""
    return docstring_of(cls).split("\n\n")[0].replace("\n", " ")


def project_version() -> str:
    try:
        with open(settings.BASE_DIR / "pyproject.toml", "rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0"


def describe(host: str = "127.0.0.1:8000", protocol: str = "ws") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every socket route, for a server at `host` ("ws" or "wss")."""
    routes = socket_routes()
    contracts = {consumer: contract_of(consumer) for _, consumer in routes}
    queries = {consumer: query_of(consumer, contract) for consumer, contract in contracts.items()}
    # Every model once, with the mode it is used in: what the server accepts is validated, what it sends serialized.
    uses: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for consumer, contract in contracts.items():
        uses += [(model, "validation") for model in contract.receives]
        uses += [(model, "serialization") for model in sends_of(consumer, contract)]
        query_model = queries[consumer]
        if query_model is not None:
            uses.append((query_model, "validation"))
    refs, definitions = models_json_schema(list(dict.fromkeys(uses)), ref_template=SCHEMAS + "{model}")
    schemas = definitions.get("$defs", {})
    messages: dict[str, Any] = {}

    def message_ids(models: tuple[type[BaseModel], ...], mode: JsonSchemaMode) -> list[str]:
        ids = []
        for model in models:
            name = refs[(model, mode)]["$ref"].removeprefix(SCHEMAS)
            text = issubclass(model, Text)
            message: dict[str, Any] = {
                "name": name,
                "title": model.__name__,
                "contentType": "text/plain" if text else "application/json",
                "payload": {"$ref": SCHEMAS + name},
            }
            if summary_of(model):
                message["summary"] = summary_of(model)
            if schemas[name].get("examples"):
                message["examples"] = [{"payload": example} for example in schemas[name]["examples"]]
            messages[name] = message
            ids.append(name)
        return ids

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for address, consumer in routes:
        contract = contracts[consumer]
        cid = channel_id(address, channels)
        received = message_ids(contract.receives, "validation")
        sent = message_ids(sends_of(consumer, contract), "serialization")
        channel: dict[str, Any] = {
            "address": "/" + address,
            "title": consumer.__name__,
            "summary": summary_of(consumer) or f"{consumer.__module__}.{consumer.__qualname__}",
            "description": docstring_of(consumer) or f"{consumer.__module__}.{consumer.__qualname__}",
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in [*received, *sent]},
            "x-consumer": f"{consumer.__module__}.{consumer.__qualname__}",
            "x-contract": contract_for(consumer) is not None,
            "x-close-codes": close_codes_of(consumer),
        }
        names = re.findall(r"\{(\w+)\}", address)
        if names:
            channel["parameters"] = {
                name: {"description": contract.parameters.get(name, f"The route's `{name}`.")} for name in names
            }
        query_model = queries[consumer]
        if query_model is not None:
            query = schemas[refs[(query_model, "validation")]["$ref"].removeprefix(SCHEMAS)]
            channel["bindings"] = {"ws": {"method": "GET", "query": query, "bindingVersion": WS_BINDING_VERSION}}
        channels[cid] = channel
        security = [{"$ref": "#/components/securitySchemes/session"}, {"$ref": "#/components/securitySchemes/token"}]
        for action, ids in (("receive", received), ("send", sent)):
            if not ids:
                continue
            operation: dict[str, Any] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{cid}"},
                "summary": f"What the server {'accepts' if action == 'receive' else 'sends'} on /{address}.",
                "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"} for name in ids],
            }
            if issubclass(consumer, PushConsumer):  # logged-in users only: others are closed with UNAUTHORIZED
                operation["security"] = security
            operations[f"{action}_{cid}"] = operation

    codes = "\n".join(f"| {code} | {meaning} |" for code, meaning in sorted(CLOSE_CODES.items()))
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": apps.get_app_config("{{ cookiecutter.project_slug }}").verbose_name,
            "version": project_version(),
            "description": (
                "The WebSocket API: every socket route with the messages it accepts and sends. A JSON frame the "
                'contract does not accept gets `{"error": "..."}` naming the field; the socket stays open.\n\n'
                f"| close code | meaning |\n| --- | --- |\n{codes}"
            ),
        },
        "servers": {"default": {"host": host, "protocol": protocol, "description": "This project's server."}},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "session": {
                    "type": "httpApiKey",
                    "in": "cookie",
                    "name": settings.SESSION_COOKIE_NAME,
                    "description": "Django's session cookie, from logging in on the site.",
                },
                "token": {
                    "type": "httpApiKey",
                    "in": "query",
                    "name": "token",
                    "description": "A short-lived token from POST /api/ws-token/ (docs/sockets.md).",
                },
            },
        },
        "x-close-codes": {str(code): meaning for code, meaning in sorted(CLOSE_CODES.items())},
    }


def channel_messages(document: dict[str, Any], address: str) -> dict[str, list[str]]:
    """The titles (model names) of the messages the server receives and sends on the socket at `address`
    (`/ws/chat/{room}/`) in `document`, for tests: {"receive": ["Say"], "send": ["Said", "Error"]}."""
    ids = [cid for cid, channel in document["channels"].items() if channel["address"] == address]
    if not ids:
        raise KeyError(f"No channel has the address {address}.")
    found: dict[str, list[str]] = {"receive": [], "send": []}
    for operation in document["operations"].values():
        if operation["channel"]["$ref"] == f"#/channels/{ids[0]}":
            for ref in operation["messages"]:
                message = document["channels"][ids[0]]["messages"][ref["$ref"].rsplit("/", 1)[1]]
                title = document["components"]["messages"][message["$ref"].rsplit("/", 1)[1]]["title"]
                found[operation["action"]].append(title)
    return found
