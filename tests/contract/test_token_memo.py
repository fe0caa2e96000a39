"""Tokens remembered in the process (service.cache.token_memo): a request needs no
Redis round trip to know its caller, yet revoking a token in any process takes it out
of every memo at once, and a memo that cannot hear revocations is not used."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator

import fakeredis
import pytest
import redis

from service.cache.cached_token import CachedToken
from service.cache.permission_cache import PermissionCache
from service.cache.redis_client import connect

BACKENDS = ["fake"] + (["redis"] if os.environ.get("ROLECALL_TEST_REDIS_URL") else [])
TOKEN = CachedToken("t1", "scim", "tok-1", 0.0)


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture(params=BACKENDS)
def process_cache(request: pytest.FixtureRequest) -> Iterator[Callable[[], PermissionCache]]:
    """Makes caches as separate processes would have them: one Redis, one memo each."""
    prefix = f"memo-{uuid.uuid4().hex[:8]}:"
    server = fakeredis.FakeServer()

    def client() -> redis.Redis:
        if request.param == "fake":
            return fakeredis.FakeRedis(server=server)
        return connect(os.environ["ROLECALL_TEST_REDIS_URL"])

    made: list[PermissionCache] = []

    def make() -> PermissionCache:
        cache = PermissionCache(client(), prefix, memo_tokens=True)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        assert cache.memo is not None
        cache.memo.stop()
    cleanup = client()
    for key in cleanup.scan_iter(f"{prefix}*"):
        cleanup.delete(key)


def listening(cache: PermissionCache) -> bool:
    assert cache.memo is not None
    cache.memo.get("warm-up")  # starts the listener
    return eventually(lambda: cache.memo is not None and cache.memo.listening)


def test_a_token_read_once_is_answered_without_redis_after(
    process_cache: Callable[[], PermissionCache],
) -> None:
    cache = process_cache()
    assert listening(cache)
    cache.remember_token("h1", TOKEN)
    assert cache.cached_token("h1") == TOKEN
    cache.redis.delete(f"{cache.prefix}tok:h1")  # gone from Redis, not from the memo
    assert cache.cached_token("h1") == TOKEN


def test_revoking_in_another_process_takes_the_token_out_of_this_one(
    process_cache: Callable[[], PermissionCache],
) -> None:
    here, there = process_cache(), process_cache()
    assert listening(here) and listening(there)
    here.remember_token("h1", TOKEN)
    assert here.cached_token("h1") == TOKEN

    there.forget_token("h1")

    assert eventually(lambda: here.cached_token("h1") is None)


def test_a_read_that_began_before_a_revocation_is_not_remembered(
    process_cache: Callable[[], PermissionCache],
) -> None:
    cache = process_cache()
    assert listening(cache) and cache.memo is not None
    before = cache.memo.generation()
    cache.memo.drop("h1")  # a revocation lands while the read is in flight
    cache.memo.put("h1", TOKEN, before)
    assert cache.memo.get("h1") is None


def test_a_memo_that_is_not_subscribed_is_not_used() -> None:
    down = connect("redis://127.0.0.1:1/0", timeout=0.2)
    cache = PermissionCache(down, "down:", memo_tokens=True)
    assert cache.memo is not None
    cache.memo.get("h1")
    time.sleep(0.3)
    assert not cache.memo.listening
    cache.memo.put("h1", TOKEN, cache.memo.generation())
    assert cache.memo.get("h1") is None
    cache.memo.stop()


def test_remembered_tokens_expire(
    process_cache: Callable[[], PermissionCache], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = process_cache()
    assert listening(cache) and cache.memo is not None
    monkeypatch.setattr(cache.memo, "TTL_SECONDS", 0.0)
    cache.memo.put("h1", TOKEN, cache.memo.generation())
    assert cache.memo.get("h1") is None
