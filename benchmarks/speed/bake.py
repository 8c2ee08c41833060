"""The baked project measured: the template's defaults plus `bench_tutorial`, the Channels docs' consumers."""

import subprocess
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.support.bakes import TEMPLATE_DIR

from .servers import server_env

TUTORIAL_CONSUMERS = '''\
"""The Channels documentation's consumers, for comparison with the project's own."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer


class TutorialEcho(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


class TutorialJsonEcho(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=json.dumps(json.loads(text_data)))


class TutorialChat(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        message = json.loads(text_data)["message"]
        await self.channel_layer.group_send(self.room_group_name, {"type": "chat.message", "message": message})

    async def chat_message(self, event):
        await self.send(text_data=json.dumps({"message": event["message"]}))
'''

TUTORIAL_ROUTING = """\
from django.urls import path, re_path

from . import consumers

websocket_urlpatterns = [
    path("ws/tutorial-echo/", consumers.TutorialEcho.as_asgi()),
    path("ws/tutorial-echo-json/", consumers.TutorialJsonEcho.as_asgi()),
    re_path(r"ws/tutorial-chat/(?P<room_name>\\w+)/$", consumers.TutorialChat.as_asgi()),
]
"""


def bake(tmp, python=sys.executable):
    """Bake the defaults into `tmp`, add `bench_tutorial`, migrate with `python` (the servers' interpreter)."""
    project = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp)))
    app = project / "bench_tutorial"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "consumers.py").write_text(TUTORIAL_CONSUMERS)
    (app / "routing.py").write_text(TUTORIAL_ROUTING)
    settings = project / project.name / "settings.py"
    text = settings.read_text()
    assert '\n    "tasks",\n' in text, "PROJECT_APPS changed: update benchmarks/speed/bake.py"
    settings.write_text(text.replace('\n    "tasks",\n', '\n    "tasks",\n    "bench_tutorial",\n', 1))
    subprocess.run([str(python), "manage.py", "migrate", "--verbosity", "0"], cwd=project, env=server_env(), check=True)
    return project
