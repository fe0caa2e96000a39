"""Redis clients, built from Settings: a real Redis, one found through Sentinel, or an
in-process fake one for the embedded default (`memory://`).

A Sentinel-managed Redis is named by
`redis+sentinel://[:password@]host:26379[,host2:26379...]/db?master=NAME`, for the
cache and the broker alike (the broker's URL is translated to kombu's form).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from service.settings import Settings, SettingsError

SENTINEL_SCHEME = "redis+sentinel://"

# One fake server per process, so every client of the embedded default sees the same data.
_FAKE_SERVER = fakeredis.FakeServer()


@dataclass(frozen=True)
class SentinelTarget:
    hosts: tuple[tuple[str, int], ...]
    master: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelTarget:
    # urllib cannot split a netloc holding several hosts, so this is done by hand.
    rest = url.removeprefix(SENTINEL_SCHEME)
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    password = None
    if "@" in netloc:
        credentials, netloc = netloc.rsplit("@", 1)
        password = unquote(credentials.partition(":")[2]) or None
    hosts = []
    for item in filter(None, netloc.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError(f"Sentinel address {item!r} needs host:port")
        hosts.append((host, int(port)))
    master = (parse_qs(query).get("master") or [""])[0]
    if not hosts or not master:
        raise SettingsError("a redis+sentinel:// URL needs host:port and ?master=NAME")
    return SentinelTarget(tuple(hosts), master, int(path or 0), password)


def make_redis(settings: Settings) -> redis.Redis:
    if settings.cache_in_memory:
        return fakeredis.FakeRedis(server=_FAKE_SERVER)
    return connect(settings.redis_url)


def connect(url: str, timeout: float = 1.0) -> redis.Redis:
    # One quick retry, no backoff: when Redis is down, reads fall back to the database,
    # and redis-py's default (several retries with growing sleeps) would stall each request.
    options: dict[str, Any] = {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 1),
    }
    if url.startswith(SENTINEL_SCHEME):
        target = parse_sentinel_url(url)
        sentinel = Sentinel(list(target.hosts), socket_timeout=timeout)
        return sentinel.master_for(target.master, db=target.db, password=target.password, **options)
    return redis.Redis.from_url(url, health_check_interval=30, **options)


def celery_broker(url: str) -> tuple[str, dict[str, Any]]:
    """The broker URL and transport options kombu wants for `url`."""
    if not url.startswith(SENTINEL_SCHEME):
        return url, {}
    target = parse_sentinel_url(url)
    auth = f":{target.password}@" if target.password else ""
    hosts = ";".join(f"sentinel://{auth}{host}:{port}/{target.db}" for host, port in target.hosts)
    return hosts, {"master_name": target.master}
