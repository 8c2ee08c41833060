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

Both ask the sentinels through AsyncSentinel or SyncSentinel, which tell a wrong REDIS_SENTINEL_PASSWORD
(SentinelPasswordError) and a REDIS_SENTINELS address that is a plain redis-server (NotASentinel) from sentinels
that are down (MasterNotFoundError): health.misconfiguration() names the setting to correct.
"""

from typing import Any

import redis
from redis import retry as sync_retry
from redis import sentinel as sync_sentinel
from redis.asyncio import BlockingConnectionPool
from redis.asyncio import retry as async_retry
from redis.asyncio import sentinel as async_sentinel
from redis.backoff import NoBackoff

from {{ cookiecutter.project_slug }}.environment import host_port


class SentinelPasswordError(redis.AuthenticationError):
    """A sentinel refused the password (REDIS_SENTINEL_PASSWORD), or wants one and got none."""


class NotASentinel(redis.ResponseError):
    """A REDIS_SENTINELS address answered, but does not know the SENTINEL command: a plain redis-server."""


def no_master_error(service_name, sentinels):
    """The error for "no sentinel names an up master": one line (redis-py's repeats each client's options)."""
    addresses = ", ".join(host_port(host, port) for host, port in sentinels)
    return async_sentinel.MasterNotFoundError(
        f"none of the sentinels {addresses} answered with a master {service_name!r} that is up"
    )


def sentinel_failure(service_name, sentinels, errors):
    """The error to raise when no sentinel named an up master: a configuration error when one of them refused the
    password or is no sentinel (`errors`: [(address, error)] of those that failed), else no_master_error()."""
    for address, error in errors:
        if isinstance(error, redis.AuthenticationError):
            return SentinelPasswordError(f"the sentinel at {address} refused the password or wants one")
        if isinstance(error, redis.ResponseError) and "unknown command" in str(error).lower():
            return NotASentinel(f"{address} is not a sentinel (it does not know the SENTINEL command)")
    return no_master_error(service_name, sentinels)


def sentinel_address(client):
    kwargs = client.connection_pool.connection_kwargs
    return host_port(kwargs.get("host"), kwargs.get("port"))


# redis-py's discover_master() (it moves the sentinel that answered to the front of the list, so later connections
# ask it first), keeping why each sentinel failed: redis-py drops a refused password (AuthenticationError is a
# ConnectionError) and stops at a plain redis-server's ResponseError.
class AsyncSentinel(async_sentinel.Sentinel):
    def __init__(self, sentinels, **kwargs):
        super().__init__(sentinels, **kwargs)
        self.sentinel_addresses = list(sentinels)  # as configured: self.sentinels is reordered

    async def discover_master(self, service_name):
        errors = []
        for number, sentinel in enumerate(self.sentinels):
            try:
                masters: Any = await sentinel.sentinel_masters()  # a dict: redis-py's type says dict or list
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as error:
                errors.append((sentinel_address(sentinel), error))
                continue
            state = masters.get(service_name)
            if state and self.check_master_state(state, service_name):
                self.sentinels[0], self.sentinels[number] = sentinel, self.sentinels[0]
                return state["ip"], state["port"]
        raise sentinel_failure(service_name, self.sentinel_addresses, errors)


class SyncSentinel(sync_sentinel.Sentinel):
    def __init__(self, sentinels, **kwargs):
        super().__init__(sentinels, **kwargs)
        self.sentinel_addresses = list(sentinels)  # as configured: self.sentinels is reordered

    def discover_master(self, service_name):
        errors = []
        for number, sentinel in enumerate(self.sentinels):
            try:
                masters: Any = sentinel.sentinel_masters()
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as error:
                errors.append((sentinel_address(sentinel), error))
                continue
            state = masters.get(service_name)
            if state and self.check_master_state(state, service_name):
                self.sentinels[0], self.sentinels[number] = sentinel, self.sentinels[0]
                return state["ip"], state["port"]
        raise sentinel_failure(service_name, self.sentinel_addresses, errors)


class BlockingSentinelConnectionPool(async_sentinel.SentinelConnectionPool, BlockingConnectionPool):
    """The master `service_name` as `sentinels` (a list of (host, port)) report it; at most `max_connections`
    connections, a command waiting up to `timeout` seconds for a free one (then redis.ConnectionError). The other
    keyword arguments are each connection's (db, password, socket options...). No master: MasterNotFoundError (a
    redis.ConnectionError), or SentinelPasswordError, NotASentinel (sentinel_failure())."""

    def __init__(self, service_name, sentinels, sentinel_kwargs=None, **kwargs):
        # A sentinel that fails is not retried (redis-py's default backs off for seconds): the next one is asked.
        sentinel_kwargs = {"retry": async_retry.Retry(NoBackoff(), 0), **(sentinel_kwargs or {})}
        super().__init__(service_name, AsyncSentinel(sentinels, sentinel_kwargs=sentinel_kwargs), **kwargs)

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
        return cls(url, SyncSentinel(sentinels, sentinel_kwargs=sentinel_kwargs), **options)
