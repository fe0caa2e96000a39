"""A webhook whose cursor has fallen behind the feed's retained window (paused for
longer than the window) is sent every current set from a snapshot, a page at a time,
then every change after the snapshot's cursor: what a feed reader does on a 410."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.runtime import Runtime
from service.services import permission_recompute, webhooks
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.webhooks.conftest import Endpoint, Receiver, feed, window_passed

NAMES = ("ada@example.org", "bob@example.org", "cy@example.org")


@pytest.fixture
def org(admin: Admin, directory: Directory, runtime: Runtime, tenant: TenantKeys) -> str:
    """Three users with sets in the feed, one of them deprovisioned."""
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    ids = [directory.user(name) for name in NAMES]
    for name in NAMES:
        admin.assign(name, "view", org)
    directory.set_active(ids[2], False)
    permission_recompute.deprovision(runtime, tenant.id, ids[2])
    return org


@pytest.fixture
def behind(
    make_endpoint: Callable[..., Endpoint], receiver: Receiver, org: str, runtime: Runtime
) -> Endpoint:
    """An endpoint whose cursor (0) is behind the window, with no run queued."""
    endpoint = make_endpoint(receiver)
    endpoint.rewind()
    window_passed(runtime)
    return endpoint


def snapshot(client: FlaskClient, tenant: TenantKeys) -> tuple[list[dict[str, Any]], str]:
    """Every current set as GET /api/v1/snapshot pages them, and its feed cursor."""
    sets: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 1000}
    while True:
        page = client.get("/api/v1/snapshot", query_string=query, headers=tenant.auth("read"))
        assert page.status_code == 200, page.get_data(True)
        sets += page.json["sets"]
        if page.json["next"] is None:
            return sets, page.json["feed_cursor"]
        query["page"] = page.json["next"]


def without_event(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("event", "tenant_id", "cursor")}


def test_a_resumed_webhook_behind_the_window_gets_the_snapshot_then_the_changes_after_it(
    make_endpoint: Callable[..., Endpoint],
    receiver: Receiver,
    admin: Admin,
    org: str,
    runtime: Runtime,
    client: FlaskClient,
    tenant: TenantKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhooks, "SNAPSHOT_PAGE", 2)  # several pages for three users
    endpoint = make_endpoint(receiver, threshold=1)
    endpoint.rewind()
    receiver.status = 503
    endpoint.deliver()
    assert endpoint.shown()["state"] == "paused"
    receiver.status = 204
    receiver.received.clear()
    admin.assign("ada@example.org", "edit", org)  # missed while paused...
    window_passed(runtime)  # ...and then no longer in the feed
    assert (
        client.get(
            "/api/v1/changes", query_string={"after": "0"}, headers=tenant.auth("read")
        ).status_code
        == 410
    )

    admin.ok(admin.post(f"/webhooks/{endpoint.id}/resume"))
    sets, feed_cursor = snapshot(client, tenant)
    sent = receiver.events()
    assert {(e["event"], e["cursor"]) for e in sent} == {("permissions.snapshot", feed_cursor)}
    assert [without_event(e) for e in sent] == sets
    assert {s["kind"] for s in sets} == {"changed", "deprovisioned"}
    assert (
        "reporting/edit"
        in next(s for s in sets if s["user_name"] == "ada@example.org")["permissions"]["scopes"][
            org
        ]
    )
    assert endpoint.shown()["feed_cursor"] == feed_cursor

    # Then it goes on with the feed from the snapshot's cursor.
    admin.assign("bob@example.org", "edit", org)
    after = feed(client, tenant, after=feed_cursor)
    assert receiver.events()[len(sent) :] == [
        {"event": "permissions.changed", "tenant_id": tenant.id, **change} for change in after
    ]


def test_a_snapshot_interrupted_by_a_failure_goes_on_from_the_page_it_was_sending(
    behind: Endpoint,
    receiver: Receiver,
    client: FlaskClient,
    tenant: TenantKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhooks, "SNAPSHOT_PAGE", 1)
    sets, feed_cursor = snapshot(client, tenant)
    receiver.answers = [204, 503]  # the first set is taken, the second fails
    failed = behind.deliver()
    assert failed.sent == 1 and failed.retry_in == 2.0
    assert behind.shown()["feed_cursor"] == "0"  # the snapshot is not done

    behind.backoff_passed()
    assert behind.deliver(attempt=failed.attempt).message == "up to date: sent 2"
    users = [e["user_id"] for e in receiver.events()]
    first, second, third = (s["user_id"] for s in sets)
    assert users == [first, second, second, third]  # the taken page is not sent again
    shown = behind.shown()
    assert shown["feed_cursor"] == feed_cursor and shown["consecutive_failures"] == 0
