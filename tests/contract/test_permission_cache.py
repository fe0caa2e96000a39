"""The permission cache's contract, run against the in-process fake Redis and, when
ROLECALL_TEST_REDIS_URL is set, a real Redis: the same rules must hold on both."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator

import fakeredis
import pytest

from service.cache.cached_token import CachedToken
from service.cache.permission_cache import CacheEntry, PermissionCache, StoreResult
from service.cache.redis_client import connect

BACKENDS = ["fake"] + (["redis"] if os.environ.get("ROLECALL_TEST_REDIS_URL") else [])


@pytest.fixture(params=BACKENDS)
def cache(request: pytest.FixtureRequest) -> Iterator[PermissionCache]:
    prefix = f"contract-{uuid.uuid4().hex[:8]}:"
    if request.param == "fake":
        client = fakeredis.FakeRedis()
    else:
        client = connect(os.environ["ROLECALL_TEST_REDIS_URL"])
    yield PermissionCache(client, prefix)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def entry(version: int, marker: str = "", user: str = "u1", **names: str) -> CacheEntry:
    body = json.dumps({"version": version, "marker": marker})
    return CacheEntry(
        "t1", user, version, body, names.get("user_name", ""), names.get("external_id", "")
    )


def remember(cache: PermissionCache, token_hash: str = "h1", tenant: str = "t1") -> None:
    cache.remember_token(token_hash, CachedToken(tenant, "read", "tok-1", 0.0))


def test_a_newer_set_replaces_an_older_one(cache: PermissionCache) -> None:
    assert cache.store(entry(10, "old"))
    assert cache.store(entry(20, "new"))
    assert cache.body_of("t1", "u1") == {"version": 20, "marker": "new"}


def test_an_older_set_never_replaces_a_newer_one(cache: PermissionCache) -> None:
    assert cache.store(entry(20, "new"))
    assert not cache.store(entry(10, "stale"))
    assert cache.version_of("t1", "u1") == 20
    assert cache.body_of("t1", "u1") == {"version": 20, "marker": "new"}


def test_racing_writers_end_with_the_highest_version(cache: PermissionCache) -> None:
    versions = list(range(1, 201))
    threads = [
        threading.Thread(
            target=lambda vs=versions[i::4]: [cache.store(entry(v)) for v in reversed(vs)]
        )
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.version_of("t1", "u1") == 200


def test_a_batch_store_applies_the_rule_per_entry(cache: PermissionCache) -> None:
    cache.store(entry(50, user="u2"))
    written = cache.store_many([entry(10, user="u1"), entry(40, user="u2")])
    assert written == [StoreResult.CHANGED, StoreResult.REFUSED]


def test_a_write_says_whether_the_permissions_changed(cache: PermissionCache) -> None:
    def with_digest(version: int, digest: str) -> CacheEntry:
        return CacheEntry("t1", "u1", version, "{}", digest=digest)

    assert cache.store(with_digest(1, "a")) is StoreResult.CHANGED
    assert cache.store(with_digest(2, "a")) is StoreResult.SAME
    assert cache.store(with_digest(3, "b")) is StoreResult.CHANGED
    assert cache.store(with_digest(2, "c")) is StoreResult.REFUSED


def test_a_read_authenticates_and_fetches_by_id_username_or_external_id(
    cache: PermissionCache,
) -> None:
    remember(cache)
    cache.store(entry(5, "x", user_name="Ada@Example.org", external_id="EXT-1"))
    result = cache.read("h1", ["u1", "ada@example.ORG", "EXT-1", "ext-1", "nobody"])
    assert result.token == CachedToken("t1", "read", "tok-1", 0.0)
    bodies = [json.loads(b) if b else None for b in result.bodies]
    assert bodies[:3] == [{"version": 5, "marker": "x"}] * 3
    assert bodies[3:] == [None, None]  # externalId is case-exact; unknown is a miss


def test_a_read_with_an_unknown_token_returns_nothing(cache: PermissionCache) -> None:
    cache.store(entry(5))
    result = cache.read("not-cached", ["u1"], ["s1"])
    assert result.token is None and result.bodies == [None]


def test_a_read_never_crosses_tenants(cache: PermissionCache) -> None:
    remember(cache, "h2", tenant="t2")
    cache.store(entry(5, user_name="ada"))
    assert cache.read("h2", ["u1", "ada"]).bodies == [None, None]


def test_a_renamed_user_is_no_longer_found_by_the_old_name(cache: PermissionCache) -> None:
    remember(cache)
    cache.store(entry(5, user_name="old-name", external_id="e-old"))
    cache.store(entry(6, user_name="new-name", external_id="e-new"))
    bodies = cache.read("h1", ["old-name", "e-old", "new-name", "e-new"]).bodies
    assert bodies[0] is None and bodies[1] is None
    assert bodies[2] is not None and bodies[3] is not None


def test_scope_ancestors_come_back_with_the_read(cache: PermissionCache) -> None:
    remember(cache)
    cache.publish_ancestors("t1", 1, {"root": (), "child": ("root",), "leaf": ("child", "root")})
    result = cache.read("h1", [], ["leaf", "root", "unknown"])
    assert result.ancestors == {"leaf": ("child", "root"), "root": (), "unknown": None}


def test_a_newer_tree_replaces_every_chain_and_drops_deleted_scopes(
    cache: PermissionCache,
) -> None:
    remember(cache)
    cache.publish_ancestors("t1", 1, {"root": (), "child": ("root",), "leaf": ("child", "root")})
    # Version 2: `child` was deleted and `leaf` moved under `root`.
    assert cache.publish_ancestors("t1", 2, {"root": (), "leaf": ("root",)})
    result = cache.read("h1", [], ["leaf", "child"])
    assert result.ancestors == {"leaf": ("root",), "child": None}
    assert cache.ancestors_version("t1") == 2
    assert cache.published_chain("t1", "leaf") == ("root",)
    assert cache.published_chain("t1", "root") == ()
    assert cache.published_chain("t1", "child") is None


def test_an_older_tree_never_replaces_a_newer_one(cache: PermissionCache) -> None:
    remember(cache)
    cache.publish_ancestors("t1", 2, {"root": (), "leaf": ("root",)})
    assert not cache.publish_ancestors("t1", 1, {"root": (), "child": ("root",)})
    result = cache.read("h1", [], ["leaf", "child"])
    assert result.ancestors == {"leaf": ("root",), "child": None}


def test_a_forgotten_token_cannot_be_remembered_again_soon(cache: PermissionCache) -> None:
    remember(cache)
    cache.forget_token("h1")
    assert cache.cached_token("h1") is None
    assert not cache.remember_token("h1", CachedToken("t1", "read", "tok-1", 0.0))
    assert cache.read("h1", ["u1"]).token is None
