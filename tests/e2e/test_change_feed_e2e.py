"""The change feed on the production stack: SCIM changes recorded by the worker reach
the feed in order; a reader resumes after the web process restarts with nothing lost or
repeated; a reader behind the retention window is told so (410) and recovers from the
snapshot."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from tests.e2e.conftest import BIN, LiveStack
from tests.e2e.scenario import PATCH_SCHEMA, Setup, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def setup(live_stack: LiveStack) -> Setup:
    return Setup(live_stack, label="Feed")


def feed(stack: LiveStack, after: str, **query: Any) -> Any:
    response = stack.api("GET", "/api/v1/changes", kind="read", params={"after": after, **query})
    return response


def read_all(stack: LiveStack, after: str) -> tuple[list[dict[str, Any]], str]:
    changes: list[dict[str, Any]] = []
    while True:
        page = feed(stack, after, limit=200)
        assert page.status_code == 200, page.text
        body = page.json()
        changes.extend(body["changes"])
        after = body["cursor"]
        if not body["more"]:
            return changes, after


def end_of_feed(stack: LiveStack) -> str:
    return read_all(stack, "0")[1]


def content(permission_set: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in permission_set.items() if k not in ("version", "computed_at")}


def test_a_scim_group_change_reaches_the_feed_through_the_worker(setup: Setup) -> None:
    stack = setup.stack
    ada = setup.user("ada@feed.example")
    start = end_of_feed(stack)
    setup.join(ada)

    def edit_recorded() -> list[dict[str, Any]]:
        changes = [c for c in read_all(stack, start)[0] if c.get("user_id") == ada]
        return [c for c in changes if c["permissions"]["scopes"].get(setup.folder)]

    change = eventually(edit_recorded, 20, "the worker recorded ada's new set")[-1]
    assert change["kind"] == "changed"
    assert change["permissions"]["scopes"][setup.folder]["reporting/edit"]["level"] == "granted"


def test_the_feed_resumes_after_the_web_process_restarts(setup: Setup) -> None:
    stack = setup.stack
    cursor = end_of_feed(stack)
    before = setup.user("before-restart@feed.example")
    eventually(lambda: read_all(stack, cursor)[0], 20, "the first user is in the feed")

    stack.processes["web"].stop()
    stack.start_web()
    stack.wait_ready()

    after = setup.user("after-restart@feed.example")
    changes = eventually(
        lambda: (lambda c: c if {x.get("user_id") for x in c} >= {before, after} else None)(
            read_all(stack, cursor)[0]
        ),
        20,
        "both users are in the feed",
    )
    cursors = [int(c["cursor"]) for c in changes]
    assert cursors == list(range(int(cursor) + 1, int(cursor) + 1 + len(changes)))  # no gap
    ours = [c["user_id"] for c in changes if c.get("user_id") in (before, after)]
    assert ours == [before, after]  # each once, in the order they were made


def test_a_reader_behind_the_window_gets_410_and_recovers_from_the_snapshot(
    setup: Setup,
) -> None:
    stack = setup.stack
    users = [setup.user(f"window{i}@feed.example") for i in range(3)]
    setup.join(users[0])
    eventually(lambda: setup.cached_edit(users[0]), 20, "the first user can edit")
    old_cursor = "1"
    time.sleep(0.5)

    pruned = subprocess.run(
        [str(BIN / "rolecall"), "feed", "prune"],
        env={**stack.env, "ROLECALL_FEED_RETENTION_DAYS": "0.000001"},  # about 0.09 s
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert pruned.stdout.startswith("pruned ")
    gone = feed(stack, old_cursor)
    assert gone.status_code == 410 and gone.json()["reason"] == "cursor_expired"

    # A change after the prune: the snapshot plus the feed after it must include it.
    setup.scim(
        "PATCH",
        f"/Users/{users[1]}",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    held: dict[str, dict[str, Any]] = {}
    page = stack.api("GET", "/api/v1/snapshot", kind="read", params={"limit": 2}).json()
    feed_cursor = page["feed_cursor"]
    while True:
        for row in page["sets"]:
            held[row["user_id"]] = row["permissions"]
        if page["next"] is None:
            break
        params = {"cursor": page["next"], "limit": 2}
        page = stack.api("GET", "/api/v1/snapshot", kind="read", params=params).json()
    for change in read_all(stack, feed_cursor)[0]:
        uid = change.get("user_id")
        if uid and (uid not in held or change["version"] > held[uid]["version"]):
            held[uid] = change["permissions"]
    for uid in users:
        served = stack.api("GET", f"/api/v1/users/{uid}/permissions", kind="read").json()
        assert content(held[uid]) == content(served)
    assert held[users[1]]["active"] is False
