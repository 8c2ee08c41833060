"""channels-redis's layer, with a connection pool that waits for a free connection instead of failing.

Every concurrent group_add, group_discard and send borrows a pooled connection. redis-py's default pool
raises MaxConnectionsError once 100 are in use, so a burst of sockets opening or closing at once (a server
restart, many tabs reconnecting) failed handshakes with HTTP 500 and left stale group members behind.
"""

import channels_redis.core
from redis.asyncio import BlockingConnectionPool

MAX_CONNECTIONS = 200  # per server process and Redis host (Redis accepts 10,000 clients by default)
WAIT_SECONDS = 20  # how long a command waits for a free connection before it fails


class RedisChannelLayer(channels_redis.core.RedisChannelLayer):
    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:
            return super().create_pool(index)  # Sentinel hosts keep channels-redis's own pool.
        address = host.pop("address")
        return BlockingConnectionPool.from_url(address, max_connections=MAX_CONNECTIONS, timeout=WAIT_SECONDS, **host)
