"""Django's Redis cache backend, keeping its redis clients.

Django's RedisCacheClient makes a new redis.Redis for every cache call, and redis-py
builds each one's table of ~170 response callbacks anew: 0.10 to 0.12 ms of CPU per call
(time.process_time), on top of the 0.16 to 0.2 ms that the command itself costs. A client is
thread-safe and holds no connection of its own: it takes one from the pool per command.
One client per pool is kept instead.
"""

from django.core.cache.backends import redis as django_redis


class _KeptClients(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _KeptClients
