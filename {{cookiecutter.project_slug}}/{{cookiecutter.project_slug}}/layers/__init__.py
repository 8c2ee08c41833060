"""Our patches of library internals, and nothing else: the channel layers that settings.CHANNEL_LAYERS names,
and the consumers' dispatch loop.

- memory.py: FanOutInMemoryChannelLayer, patching Channels' InMemoryChannelLayer (used without Redis).
- redis.py: SingleReaderRedisChannelLayer, patching channels-redis's RedisChannelLayer (REDIS_URL or REDIS_SENTINELS).
- dispatch.py: the loop in which every consumer reads its socket and its channel, patching Channels'
  await_many_dispatch (apps.py installs it).
- buffers.py: ChannelBuffer, the per-socket message buffer both layers keep in place of an asyncio.Queue.

The three patches reach into members of the library minors in PATCHED_MINORS. pyproject.toml pins those minors, and
a system check (checks.py, layers.E001) fails every command and the server start if another one is installed.

Each patch keeps its library's public contract: tests/test_layers_contract.py runs the same tests on the
library's layer class and on ours (and the cookiecutter template's suite runs channels-redis's own tests on
both), tests/test_dispatch.py on Channels' loop and on ours.
A deliberate difference is skipped by test name in its module's CONTRACT_DIFFERENCES, the one list the runs
read, and explained in that module's docstring.
"""

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer
from django.conf import settings
from django.utils.module_loading import import_string

# Distribution -> the minor release that memory.py and redis.py were written and tested against.
PATCHED_MINORS = {"channels": "4.3", "channels-redis": "4.3"}


def is_in_memory(alias=DEFAULT_CHANNEL_LAYER):
    """Whether channel layer `alias` lives inside this process (Channels' in-memory layer or a subclass).

    Such a layer never carries a message to another process: not to a second server, runworker or a shell.
    """
    backend = getattr(settings, "CHANNEL_LAYERS", {}).get(alias, {}).get("BACKEND")
    if backend is None:
        return False
    layer_class = import_string(backend)
    # Not a class (a factory function): not in memory, and checks.py's channel_layers.E002 names it.
    return isinstance(layer_class, type) and issubclass(layer_class, InMemoryChannelLayer)
