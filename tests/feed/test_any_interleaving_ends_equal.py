"""A property of the feed: whatever order racing recomputes record and cache their sets
in, and wherever a reader reads in between, a reader applying the feed by the version
rule ends holding, for every user, the permissions the cache serves and the snapshot
pages (the same content; versions may differ when a set was computed again unchanged)."""

from __future__ import annotations

import hashlib
import json
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cache.permission_cache import CacheEntry
from service.runtime import Runtime
from service.services import change_feed
from service.services.permission_recompute import ComputedSet, record_and_store
from tests.conftest import TenantKeys

CONTENTS = ["view", "edit", "share"]

# One step: a writer records and caches (user, version, content), or the reader reads.
# A user's versions are distinct, as microseconds of the database clock read by different
# runs are; in any order.
write = st.tuples(
    st.sampled_from("abc"), st.integers(1, 40), st.sampled_from(CONTENTS), st.booleans()
)
steps = st.lists(
    st.one_of(write, st.just("read")),
    min_size=1,
    max_size=40,
    unique_by=lambda step: step[:2] if step != "read" else object(),
)


def computed(tenant_id: str, user_id: str, version: int, content: str, active: bool) -> ComputedSet:
    body = {"version": version, "user_id": user_id, "scopes": {"org": {content: {}}}}
    permissions = json.dumps({"scopes": body["scopes"], "active": active}, sort_keys=True)
    digest = hashlib.sha1(permissions.encode(), usedforsecurity=False).hexdigest()
    entry = CacheEntry(tenant_id, user_id, version, json.dumps(body), user_id, "", digest)
    return ComputedSet(entry, change_feed.kind_of(True, active))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=steps)
def test_a_reader_ends_with_what_the_cache_serves(
    steps: list, runtime: Runtime, tenant: TenantKeys
) -> None:
    run = uuid.uuid4().hex[:8]  # users of this example only
    with runtime.unit_of_work().reading() as session:
        cursor = change_feed.end_of(session, tenant.id)
    held: dict[str, tuple[int, str]] = {}

    def read() -> None:
        nonlocal cursor
        with runtime.unit_of_work().reading() as session:
            page = change_feed.changes_after(session, tenant.id, cursor, 1000)
        for text in page.changes:
            change = json.loads(text)
            uid, version = change["user_id"], change["version"]
            if uid not in held or version > held[uid][0]:
                held[uid] = (version, json.dumps(change["permissions"]["scopes"]))
        cursor = page.cursor

    written: set[str] = set()
    for step in steps:
        if step == "read":
            read()
            continue
        user, version, content, active = step
        uid = f"{run}-{user}"
        record_and_store(runtime, tenant.id, [computed(tenant.id, uid, version, content, active)])
        written.add(uid)
    read()

    for uid in written:
        served = runtime.cache.body_of(tenant.id, uid)
        assert held[uid][1] == json.dumps(served["scopes"]), (uid, steps)


def test_one_batch_naming_a_user_twice_records_the_newest_once(
    runtime: Runtime, tenant: TenantKeys
) -> None:
    older = computed(tenant.id, "twice", 5, "view", True)
    newer = computed(tenant.id, "twice", 9, "edit", True)
    with runtime.unit_of_work() as uow:
        recorded = change_feed.record_sets(
            uow.session, tenant.id, [newer.for_feed(), older.for_feed()]
        )
    assert recorded is not None and recorded.user_ids == ["twice"]
    with runtime.unit_of_work().reading() as session:
        page = change_feed.changes_after(session, tenant.id, 0, 10)
    assert [json.loads(c)["version"] for c in page.changes] == [9]
