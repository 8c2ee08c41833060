"""Layer benchmark: channels-redis's two channel layers next to the project's own, on the same scenarios.

Bakes the default project (benchmarks/speed's bake), writes one settings module per layer class into the bake
(`bench_layer_<name>.py`: the project's settings with CHANNEL_LAYERS["default"]["BACKEND"] replaced, chosen
with DJANGO_SETTINGS_MODULE) and serves each with the project's dev command (uvicorn, no reload), two server
processes per layer on one private redis-server per layer (loopback, free ports). The layer classes:

- core: channels_redis.core.RedisChannelLayer (channels-redis's default);
- pubsub: channels_redis.pubsub.RedisPubSubChannelLayer (Redis PUBLISH/SUBSCRIBE, no capacity or expiry);
- ours: <slug>.layers.redis.SingleReaderRedisChannelLayer (what settings.channel_layers_for picks).

Each scenario runs for every layer before the next scenario starts (the figures share the machine's load):

1. churn: R rooms, S steady sockets per room on each server; C clients per client process open a socket in a
   random room on a random server, send a message, wait for it to come back, close, again, for T seconds.
   Counted: the steady sockets' missing copies of every message that came back to its sender (lost), messages
   that never came back, frames from another room (wrong socket), client errors, group members still in Redis
   after every socket closed, tracebacks in the server logs.
2. fan-out: N listeners in one chat room, half on each server, one sender on the first; paced as
   benchmarks/speed's fan-out (message k+1 once message k reached everyone, or after 1 s without progress):
   deliveries/s, p50/p99 latency, lost.
3. Redis restart: L listeners (half on each server) and a sender sending every 50 ms; the layer's redis-server
   is stopped, then started again on its port; clients reopen a closed socket after 0.2 s, as pages do (with
   backoff). Counted: whether the sockets and servers recover without a server restart, the time from Redis
   answering again to the first message after which every message reached every listener, copies lost before
   the stop and after the restart, sockets the servers closed, tracebacks in the server logs.

Prints the figures as they come, then a table per scenario (a column per layer), and writes every figure to
--json (default build/layers.json). Figures are wall-clock and depend on the load: compare columns of one run.

Run: make layers   (or, from the repository's root: .venv/bin/python -m benchmarks.layers [--quick] [--json PATH])

Modules: `servers` (the settings modules, the servers, their logs), `churn`, `fanout`, `restart` (the
scenarios), `__main__` (the order, the table, the options).
"""
