"""The feed as Server-Sent Events, scope tree changes in the feed, the ancestor chains a
client fetches, and the order concurrent writers leave (no gap a reader could miss)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

from service.persistence.feed_models import NewSet
from service.runtime import Runtime
from service.services import change_feed
from tests.feed.conftest import FeedReader
from tests.permissions.conftest import Admin
from tests.permissions.test_scim_changes_reach_readers import Idp


def sse_blocks(reader: FeedReader, count: int, **query: object) -> list[str]:
    """The first `count` blocks (events or comments) of a stream, as sent."""
    response = reader.client.get(
        "/api/v1/changes/stream", headers=reader.headers, query_string=query, buffered=False
    )
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    blocks: list[str] = []
    try:
        for block in _blocks(response.response):
            blocks.append(block)
            if len(blocks) == count:
                break
    finally:
        response.close()
    return blocks


def _blocks(chunks: Iterator[bytes]) -> Iterator[str]:
    buffer = ""
    for chunk in chunks:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            yield block


def _fields(block: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in block.splitlines())


def test_the_stream_sends_what_the_feed_answers_then_keeps_alive(
    idp: Idp, reader: FeedReader
) -> None:
    for name in ("ada", "bob", "cy"):
        idp.user(f"{name}@example.org")
    polled = reader.catch_up()

    blocks = sse_blocks(reader, 4, after="0", heartbeat=1)

    events = [_fields(b) for b in blocks[:3]]
    assert [e["event"] for e in events] == ["change"] * 3
    assert [e["id"] for e in events] == [c["cursor"] for c in polled]
    assert [json.loads(e["data"]) for e in events] == polled
    assert blocks[3] == ": keepalive"


def test_last_event_id_resumes_the_stream_after_it(idp: Idp, reader: FeedReader) -> None:
    for name in ("ada", "bob", "cy"):
        idp.user(f"{name}@example.org")
    cursors = [c["cursor"] for c in reader.catch_up()]
    response = reader.client.get(
        "/api/v1/changes/stream",
        headers={**reader.headers, "Last-Event-ID": cursors[0]},
        buffered=False,
    )
    try:
        first = next(_blocks(response.response))
    finally:
        response.close()
    assert f"id: {cursors[1]}" in first.splitlines()


def test_a_stream_behind_the_window_is_refused_before_it_starts(reader: FeedReader) -> None:
    response = reader.client.get(
        "/api/v1/changes/stream", headers=reader.headers, query_string={"after": "77"}
    )
    assert response.status_code == 410
    assert response.json["reason"] == "cursor_expired"


def test_moving_a_scope_is_a_scopes_change_and_chains_follow_it(
    admin: Admin, reader: FeedReader
) -> None:
    org = admin.scope("organization", "Org")
    east = admin.scope("account", "East", parent=org, account_type="customer")
    west = admin.scope("account", "West", parent=org, account_type="customer")
    team = admin.scope("account", "Team", parent=east, account_type="customer")
    reader.catch_up()
    assert reader.get(f"/scopes/{team}/ancestors")["ancestors"] == [east, org]

    admin.ok(admin.patch(f"/scopes/{team}", {"parent_id": west}))
    moved = [c for c in reader.catch_up() if c["kind"] == "scopes"]

    assert len(moved) == 1 and "user_id" not in moved[0] and "permissions" not in moved[0]
    chain = reader.get(f"/scopes/{team}/ancestors", min_version=moved[0]["version"])
    assert chain["ancestors"] == [west, org]
    assert chain["version"] >= moved[0]["version"]
    reader.get("/scopes/no-such-scope/ancestors", status=404)


def test_concurrent_writers_leave_no_gap_a_reader_could_miss(
    runtime: Runtime, admin: Admin, reader: FeedReader
) -> None:
    """Writers record at once while a reader follows the feed: the reader sees every
    change exactly once, in cursor order, with no number skipped."""
    tenant_id = admin.keys.id
    writers, per_writer = 4, 25

    def write(w: int) -> None:
        for i in range(per_writer):
            new = NewSet(f"w{w}-u{i}", 1 + i, f"d{w}-{i}", "changed", "{}", None, None)
            with runtime.unit_of_work() as uow:
                change_feed.record_sets(uow.session, tenant_id, [new])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    seen: list[int] = []

    def read() -> bool:
        page = reader.changes(limit=7)
        seen.extend(int(c["cursor"]) for c in page["changes"])
        reader.cursor = page["cursor"]
        return bool(page["changes"])

    while any(t.is_alive() for t in threads):
        read()
    for thread in threads:
        thread.join()
    while read():  # what the last writers recorded after the reader's last look
        pass
    assert seen == list(range(1, writers * per_writer + 1))
