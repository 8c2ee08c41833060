"""JsonConsumer and Channels' hooks decode_json and encode_json: a consumer that overrides one has it called for every
frame, as in Channels; one that overrides neither does not pay for awaiting them, nor the send()s behind send_json."""

import json
import sys

import pytest
from channels.consumer import AsyncConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from channels.routing import URLRouter
from django.urls import path

from {{ cookiecutter.project_slug }} import strictjson
from {{ cookiecutter.project_slug }}.consumers import JsonConsumer


class Echo(JsonConsumer):
    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class UpperEcho(Echo):
    """Reads keys upper-cased and writes a prefix before the JSON."""

    @classmethod
    async def decode_json(cls, text_data):
        return {key.upper(): value for key, value in json.loads(text_data).items()}

    @classmethod
    async def encode_json(cls, content):
        return "json:" + json.dumps(content)


class MethodHooks(Echo):
    """Channels' hooks overridden as plain methods, which Channels calls just as well (self.decode_json(...))."""

    async def decode_json(self, text_data):
        return {"read": json.loads(text_data)}

    async def encode_json(self, content):
        return "method:" + json.dumps(content)


class StaticHooks(Echo):
    @staticmethod
    async def decode_json(text_data):
        return {"read": json.loads(text_data)}

    @staticmethod
    async def encode_json(content):
        return "static:" + json.dumps(content)


router = URLRouter(
    [
        path("echo/", Echo.as_asgi()),
        path("upper/", UpperEcho.as_asgi()),
        path("method/", MethodHooks.as_asgi()),
        path("static/", StaticHooks.as_asgi()),
    ]
)


async def test_overridden_hooks_are_called_for_every_frame(connect):
    socket = await connect("/upper/", app=router)
    for n in range(3):
        await socket.send_to(text_data=json.dumps({"n": n}))
        assert await socket.receive_from() == json.dumps({"N": n}).join(["json:", ""])


@pytest.mark.parametrize("kind", ["method", "static"])
async def test_hooks_overridden_as_plain_or_static_methods_are_called(connect, kind):
    # Not only classmethods: defining such a class raised AttributeError (no __func__) at import.
    socket = await connect(f"/{kind}/", app=router)
    await socket.send_to(text_data="[1]")
    assert await socket.receive_from() == kind + ':{"read": [1]}'


@pytest.mark.parametrize("text", ["{", " " * 7777 + "{", "[1,]"])
async def test_an_overridden_decoders_value_error_is_an_error_frame_and_the_socket_stays_open(connect, text):
    # json.JSONDecodeError, which orjson's subclasses: the socket ended on it while only InvalidJSON was answered.
    with pytest.raises(json.JSONDecodeError) as refused:
        json.loads(text)
    socket = await connect("/upper/", app=router)
    await socket.send_to(text_data=text)
    assert await socket.receive_from() == "json:" + json.dumps({"error": str(refused.value)})
    await socket.send_to(text_data='{"still": "open"}')
    assert await socket.receive_from() == 'json:{"STILL": "open"}'


@pytest.mark.parametrize("kind", ["method", "static"])
async def test_an_overridden_decoder_never_sees_a_text_nested_too_deep(connect, kind):
    # json.loads raised RecursionError on it (or crashes on a small thread stack), which ended the socket.
    socket = await connect(f"/{kind}/", app=router)
    await socket.send_to(text_data="[" * 5000 + "]" * 5000)
    assert await socket.receive_from() == kind + ":" + json.dumps({"error": strictjson.TOO_DEEP})
    await socket.send_to(text_data="[" * 100 + "]" * 100)  # the limit itself: decoded by the override
    assert await socket.receive_from() == kind + ":" + json.dumps({"read": json.loads("[" * 100 + "]" * 100)})


async def functions_run(during):
    """The code objects of the Python functions and coroutines that run while `during()` (a coroutine) is awaited."""
    codes = set()
    sys.setprofile(lambda frame, event, arg: codes.add(frame.f_code) if event == "call" else None)
    try:
        await during()
    finally:
        sys.setprofile(None)
    return codes


async def test_a_consumer_that_overrides_no_hook_never_awaits_them(connect):
    # Each await of a hook, and each of the two send()s behind Channels' send_json, cost about 0.3 µs per frame.
    socket = await connect("/echo/", app=router)

    async def frames():
        await socket.send_to(text_data='{"message": "hello", "n": [1, 2.5]}')
        assert await socket.receive_json_from() == {"message": "hello", "n": [1, 2.5]}
        await socket.send_to(text_data="[")
        assert "Malformed JSON" in (await socket.receive_json_from())["error"]

    hooks = [JsonConsumer.decode_json, JsonConsumer.encode_json, AsyncWebsocketConsumer.send, AsyncConsumer.send]
    assert {hook.__code__ for hook in hooks} & await functions_run(frames) == set()


async def test_a_hook_patched_onto_the_class_later_is_called(connect, monkeypatch):
    # A test's mock.patch.object(Consumer, "encode_json", ...): the check is made for each frame, not once per class.
    async def tagged(cls, content):
        return "patched:" + json.dumps(content)

    socket = await connect("/echo/", app=router)
    monkeypatch.setattr(Echo, "encode_json", classmethod(tagged))
    await socket.send_to(text_data="[1]")
    assert await socket.receive_from() == "patched:[1]"


class Stamping(AsyncJsonWebsocketConsumer):
    async def send_json(self, content, close=False):
        await super().send_json({**content, "stamped": True}, close)


class Counting(AsyncWebsocketConsumer):
    sent = 0

    async def send(self, text_data=None, bytes_data=None, close=False):
        type(self).sent += 1
        await super().send(text_data, bytes_data, close)


async def test_send_json_goes_through_the_sends_of_base_classes_listed_after_json_consumer(connect):
    # Channels' send_json calls the send_json and send() of the classes after JsonConsumer in the MRO (a base class
    # of another library listed after it): skipping Channels' send_json must not skip them.
    class StampedEcho(Echo, Stamping):
        pass

    class CountedEcho(Echo, Counting):
        pass

    app = URLRouter([path("stamped/", StampedEcho.as_asgi()), path("counted/", CountedEcho.as_asgi())])
    socket = await connect("/stamped/", app=app)
    await socket.send_to(text_data='{"n": 1}')
    assert await socket.receive_json_from() == {"n": 1, "stamped": True}
    socket = await connect("/counted/", app=app)
    await socket.send_to(text_data='{"n": 1}')
    assert await socket.receive_json_from() == {"n": 1}
    assert CountedEcho.sent == 1


async def test_send_json_closes_with_the_code_it_is_given(connect):
    class Closing(JsonConsumer):
        async def receive_json(self, content, **kwargs):
            await self.send_json({"bye": True}, close=4000)

    socket = await connect("/closing/", app=URLRouter([path("closing/", Closing.as_asgi())]))
    await socket.send_to(text_data="{}")
    assert await socket.receive_json_from() == {"bye": True}
    assert await socket.receive_output() == {"type": "websocket.close", "code": 4000}
