"""Redis behind Sentinel: connection pools that ask the sentinels where the master is.

settings.py builds a Sentinel master (REDIS_SENTINELS, REDIS_SENTINEL_MASTER: docs/settings.md) into the channel
layer's `hosts` and into CACHES. Each pool here is redis-py's SentinelConnectionPool: a new connection asks the
sentinels for the master's address, so after a failover (the master gone, a replica promoted) the next
connection reaches the new master, with no restart. A connection still open to a master that was demoted gets
READONLY errors, which redis-py turns into ConnectionError and a fresh connection.

- BlockingSentinelConnectionPool: the channel layer's (layers/redis.py). It waits for a free connection as the
  layer's URL pool does (BlockingConnectionPool), and closing it closes the connections to the sentinels too.
- SentinelCachePool: Django's RedisCache's `pool_class`. Django calls `from_url(LOCATION, **OPTIONS)`:
  LOCATION is the master's name, OPTIONS the sentinels and the connection options.
"""

from redis import retry as sync_retry
from redis import sentinel as sync_sentinel
from redis.asyncio import BlockingConnectionPool
from redis.asyncio import retry as async_retry
from redis.asyncio import sentinel as async_sentinel
from redis.backoff import NoBackoff


def no_master_error(service_name, sentinels):
    """The error for "no sentinel names an up master": one line (redis-py's repeats each client's options)."""
    addresses = ", ".join(f"{host}:{port}" for host, port in sentinels)
    return async_sentinel.MasterNotFoundError(
        f"none of the sentinels {addresses} answered with a master {service_name!r} that is up"
    )


class BlockingSentinelConnectionPool(async_sentinel.SentinelConnectionPool, BlockingConnectionPool):
    """The master `service_name` as `sentinels` (a list of (host, port)) report it; at most `max_connections`
    connections, a command waiting up to `timeout` seconds for a free one (then redis.ConnectionError). The other
    keyword arguments are each connection's (db, password, socket options...). No master: MasterNotFoundError (a
    redis.ConnectionError)."""

    def __init__(self, service_name, sentinels, sentinel_kwargs=None, **kwargs):
        # A sentinel that fails is not retried (redis-py's default backs off for seconds): the next one is asked.
        sentinel_kwargs = {"retry": async_retry.Retry(NoBackoff(), 0), **(sentinel_kwargs or {})}
        manager = async_sentinel.Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)
        super().__init__(service_name, manager, **kwargs)
        self.sentinels = sentinels

    async def get_master_address(self):
        try:
            return await super().get_master_address()
        except async_sentinel.MasterNotFoundError:
            raise no_master_error(self.service_name, self.sentinels) from None

    async def aclose(self):
        try:
            await super().aclose()
        finally:
            await self.sentinel_manager.aclose()  # its own connections, one per sentinel asked


class SentinelCachePool(sync_sentinel.SentinelConnectionPool):
    """Django's RedisCache `pool_class` for the master named by LOCATION."""

    @classmethod
    def from_url(cls, url, **options):
        """The pool for the master named `url` (RedisCache passes LOCATION, here the master's name, as `url`);
        `options` hold `sentinels` ([(host, port)]), `sentinel_kwargs` and each connection's options."""
        sentinels = options.pop("sentinels")
        sentinel_kwargs = {"retry": sync_retry.Retry(NoBackoff(), 0), **(options.pop("sentinel_kwargs", None) or {})}
        return cls(url, sync_sentinel.Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs), **options)
