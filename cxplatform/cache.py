"""Django's Redis cache, keeping its Redis client instead of building one per call.

Django's `RedisCacheClient.get_client()` makes a new `redis.Redis` for every cache operation, and
redis-py fills ~170 response callbacks in each one: about 0.3 ms per call, twice per public survey
page (the rate limiter's add and incr; bench/answer_load.py). The connection pool was already
shared; this shares the client on top of it. Caches are per thread in Django, and redis-py clients
are thread-safe anyway.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient
