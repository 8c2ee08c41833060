"""The server's lifespan runs the background workers itself on the in-memory layer."""

import pytest
from channels.consumer import AsyncConsumer
from channels.layers import get_channel_layer

from {{ cookiecutter.project_slug }}.lifespan import start_in_process_workers, stop

pytestmark = pytest.mark.memory_layer


class Answer(AsyncConsumer):
    async def question_asked(self, message):
        await self.channel_layer.send(message["reply_to"], {"type": "answer", "text": message["text"].upper()})


async def test_with_the_in_memory_layer_the_server_runs_the_workers_itself(caplog):
    layer = get_channel_layer()
    task = start_in_process_workers({"test-answers": Answer.as_asgi()})
    try:
        reply_to = await layer.new_channel()
        await layer.send("test-answers", {"type": "question.asked", "text": "hi", "reply_to": reply_to})
        assert await layer.receive(reply_to) == {"type": "answer", "text": "HI"}
    finally:
        await stop(task)
    assert "runs the background workers for test-answers itself" in caplog.text


async def test_no_workers_means_nothing_started():
    assert start_in_process_workers({}) is None
