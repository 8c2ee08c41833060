"""The layer classes compared, the settings module that points a server process at one, and the servers."""

import collections

import redis

from benchmarks.speed.servers import EXCEPTION_LINE, RedisServer, dev_server

# name -> the BACKEND; "{slug}" is the bake's package.
LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "ours": "{slug}.layers.redis.SingleReaderRedisChannelLayer",
}
SERVERS_PER_LAYER = 2

SETTINGS = '''\
"""Written by python -m benchmarks.layers: the project's settings with another channel layer class."""

import sys

from {slug}.settings import *  # noqa: F403
from {slug}.settings import CHANNEL_LAYERS

assert "CONFIG" in CHANNEL_LAYERS["default"], "REDIS_URL is empty: the in-memory layer"
CHANNEL_LAYERS["default"]["BACKEND"] = "{layer_class}"
print("benchmark channel layer: {backend}", file=sys.stderr, flush=True)
'''

# The project's presence registry and checks call RedisChannelLayer's connection() and consistent_hash(), which the
# pubsub layer lacks (the project refuses it: channel_layers.E002). Its servers run this adapter: every layer call
# goes to the pubsub layer; a RedisChannelLayer on the same hosts serves only those two.
PUBSUB_ADAPTER = """

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer


class PubSubLayer(RedisChannelLayer):
    def __init__(self, **config):
        super().__init__(**config)
        self.pubsub = RedisPubSubChannelLayer(**config)

    async def new_channel(self, prefix="specific."):
        return await self.pubsub.new_channel(prefix)

    async def send(self, channel, message):
        await self.pubsub.send(channel, message)

    async def receive(self, channel):
        return await self.pubsub.receive(channel)

    async def group_add(self, group, channel):
        await self.pubsub.group_add(group, channel)

    async def group_discard(self, group, channel):
        await self.pubsub.group_discard(group, channel)

    async def group_send(self, group, message):
        await self.pubsub.group_send(group, message)

    async def flush(self):
        await self.pubsub.flush()
        await super().flush()
"""


def write_settings(project, name):
    """bench_layer_<name>.py beside manage.py; returns its module name (for DJANGO_SETTINGS_MODULE)."""
    slug = project.name
    backend = LAYERS[name].format(slug=slug)
    base = (project / slug / "settings.py").read_text()
    if name == "ours":
        assert backend in base, "settings.channel_layers_for no longer names our layer: update benchmarks/layers"
    module = f"bench_layer_{name}"
    layer_class, adapter = (f"{module}.PubSubLayer", PUBSUB_ADAPTER) if name == "pubsub" else (backend, "")
    settings_text = SETTINGS.format(slug=slug, backend=backend, layer_class=layer_class)
    (project / f"{module}.py").write_text(settings_text + adapter)
    return module, backend


class LayerSetup:
    """One layer class: its own redis-server and SERVERS_PER_LAYER dev servers on it."""

    def __init__(self, project, name, logs):
        self.name = name
        self.logs = logs / name
        self.logs.mkdir(parents=True)
        self.module, self.backend = write_settings(project, name)
        self.redis = RedisServer(self.logs)
        self.servers = []
        self.project = project

    def start(self, started):
        """`started(server)` starts a server and keeps it for the caller to stop."""
        started(self.redis)
        for index in range(SERVERS_PER_LAYER):
            server = dev_server(f"{self.name}-{index}", self.project, self.logs, self.redis.redis_url)
            server.env["DJANGO_SETTINGS_MODULE"] = self.module
            self.servers.append(started(server))
            text = server.log.read_text(errors="replace")
            assert f"benchmark channel layer: {self.backend}" in text, f"{server.name} did not load {self.module}"
        return self

    def urls(self, path):
        return [server.url(path) for server in self.servers]

    def log_marks(self):
        return [server.log.stat().st_size for server in self.servers]

    def problems_since(self, marks):
        """Tracebacks, their last lines and the servers still running, since log_marks()."""
        texts = []
        for server, mark in zip(self.servers, marks, strict=True):
            with open(server.log, errors="replace") as log:
                log.seek(mark)
                texts.append(log.read())
        text = "".join(texts)
        return {
            "tracebacks": text.count("Traceback (most recent call last)"),
            "exception_lines": dict(collections.Counter(EXCEPTION_LINE.findall(text)).most_common(5)),
            "servers_running": sum(server.process.poll() is None for server in self.servers),
        }

    def group_members_in_redis(self):
        """Members of every group key channels-redis's core layer keeps in Redis (the pubsub layer keeps none)."""
        with redis.Redis.from_url(self.redis.redis_url, socket_timeout=5) as client:
            return sum(client.zcard(key) for key in client.scan_iter(match="*:group:*", count=1000))

    def rss_kb(self):
        return [server.rss_kb() for server in self.servers]
