"""The Redis client, built from Settings: a real Redis, or an in-process fake one
for the embedded default (`memory://`)."""

from __future__ import annotations

import fakeredis
import redis

from service.settings import Settings

# One fake server per process, so every client of the embedded default sees the same data.
_FAKE_SERVER = fakeredis.FakeServer()


def make_redis(settings: Settings) -> redis.Redis:
    if settings.cache_in_memory:
        return fakeredis.FakeRedis(server=_FAKE_SERVER)
    return redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=1.0, socket_timeout=1.0, health_check_interval=30
    )
