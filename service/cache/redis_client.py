"""The Redis client, built from Settings: a real Redis, or an in-process fake one
for the embedded default (`memory://`)."""

from __future__ import annotations

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.settings import Settings

# One fake server per process, so every client of the embedded default sees the same data.
_FAKE_SERVER = fakeredis.FakeServer()


def make_redis(settings: Settings) -> redis.Redis:
    if settings.cache_in_memory:
        return fakeredis.FakeRedis(server=_FAKE_SERVER)
    return connect(settings.redis_url)


def connect(url: str, timeout: float = 1.0) -> redis.Redis:
    # One quick retry, no backoff: when Redis is down, reads fall back to the database,
    # and redis-py's default (several retries with growing sleeps) would stall each request.
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 1),
    )
