"""A receiver that keeps failing: each retry waits longer (per endpoint), a run queued
meanwhile waits for it, after N consecutive failures the endpoint is paused and sent
nothing, the webhook shows why and how much it has missed, and an admin resumes it,
which sends every change it missed, in order."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.runtime import Runtime
from service.services import webhooks
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.webhooks.conftest import Endpoint, Receiver, as_changes, feed, sent_by_feed


@pytest.fixture
def users(admin: Admin, directory: Directory) -> list[str]:
    """Two users whose sets are recorded in the feed (each granted `view` at an
    organization): two changes, made before any webhook exists."""
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    ids = [directory.user(name) for name in ("ada@example.org", "bob@example.org")]
    for name in ("ada@example.org", "bob@example.org"):
        admin.assign(name, "view", org)
    return ids


@pytest.fixture
def missed(
    make_endpoint: Callable[..., Endpoint], receiver: Receiver, users: list[str]
) -> Callable[..., Endpoint]:
    """An endpoint that has not been sent the two users' changes, and no run queued."""

    def make(threshold: int = 3) -> Endpoint:
        endpoint = make_endpoint(receiver, threshold=threshold)
        endpoint.rewind()
        return endpoint

    return make


def test_the_backoff_doubles_with_the_endpoints_consecutive_failures(
    missed: Callable[..., Endpoint], receiver: Receiver
) -> None:
    endpoint = missed(threshold=10)
    receiver.status = 503
    delays = [endpoint.retried().retry_in for _ in range(3)]
    assert delays == [2.0, 4.0, 8.0]
    shown = endpoint.shown()
    assert shown["consecutive_failures"] == 3 and shown["last_error"] == "HTTP 503"
    assert shown["state"] == "active" and shown["feed_cursor"] == "0"


def test_a_run_queued_during_the_backoff_waits_for_it_and_sends_nothing(
    missed: Callable[..., Endpoint], receiver: Receiver
) -> None:
    endpoint = missed(threshold=10)
    receiver.status = 503
    failed = endpoint.deliver()
    assert failed.retry_in == 2.0 and failed.attempt == 1
    tried = len(receiver.received)

    waiting = endpoint.deliver()
    assert waiting.waiting and 0 < (waiting.retry_in or 0) <= 2.0
    assert len(receiver.received) == tried
    assert endpoint.shown()["consecutive_failures"] == 1


def test_a_success_clears_the_endpoints_failures(
    missed: Callable[..., Endpoint], receiver: Receiver
) -> None:
    endpoint = missed(threshold=10)
    receiver.fail_next = 2
    assert endpoint.deliver().retry_in == 2.0
    endpoint.backoff_passed()
    assert endpoint.deliver(attempt=1).retry_in == 4.0
    endpoint.backoff_passed()
    outcome = endpoint.deliver(attempt=2)
    assert outcome.message == "up to date: sent 2" and outcome.sent == 2
    shown = endpoint.shown()
    assert shown["consecutive_failures"] == 0 and shown["next_attempt_at"] is None
    assert shown["last_error"] == "HTTP 503"  # still shown: when it last went wrong
    assert shown["held_deliveries"] == 0


def test_after_n_consecutive_failures_the_endpoint_is_paused_and_shows_why(
    missed: Callable[..., Endpoint], receiver: Receiver, admin: Admin
) -> None:
    endpoint = missed(threshold=3)
    receiver.status = 500
    outcomes = [endpoint.retried() for _ in range(3)]
    assert [o.retry_in for o in outcomes] == [2.0, 4.0, None]
    assert outcomes[-1].message == "held: endpoint paused (HTTP 500)"
    shown = endpoint.shown()
    assert shown["state"] == "paused" and shown["paused_at"] is not None
    assert shown["consecutive_failures"] == 3 and shown["last_error"] == "HTTP 500"
    assert shown["next_attempt_at"] is None and shown["held_deliveries"] == 2
    # A paused endpoint is sent nothing more.
    tried = len(receiver.received)
    assert endpoint.deliver().message == "held: endpoint paused"
    assert len(receiver.received) == tried
    paused = admin.ok(admin.get("/audit", action="webhook.pause"))
    assert [e["actor"] for e in paused] == [webhooks.SYSTEM_ACTOR]


def test_a_change_out_of_retries_pauses_its_endpoint_rather_than_being_dropped(
    missed: Callable[..., Endpoint], receiver: Receiver
) -> None:
    endpoint = missed(threshold=50)
    receiver.status = 502
    outcome = endpoint.deliver(attempt=webhooks.MAX_RETRIES)
    assert outcome.message.startswith("held") and endpoint.shown()["state"] == "paused"
    assert endpoint.shown()["feed_cursor"] == "0"  # nothing passed over


def test_a_failure_retrying_cannot_mend_leaves_the_change_for_the_next_run(
    missed: Callable[..., Endpoint], receiver: Receiver
) -> None:
    endpoint = missed(threshold=10)
    receiver.status = 400
    outcome = endpoint.deliver()
    assert outcome.message == "failed: HTTP 400" and outcome.retry_in is None
    assert endpoint.shown()["feed_cursor"] == "0"
    receiver.status = 204
    assert endpoint.deliver().sent == 2


def test_a_paused_endpoint_misses_no_change_and_is_sent_every_one_in_order_when_resumed(
    missed: Callable[..., Endpoint],
    receiver: Receiver,
    admin: Admin,
    client: FlaskClient,
    tenant: TenantKeys,
) -> None:
    endpoint = missed(threshold=1)
    receiver.status = 503
    endpoint.deliver()
    assert endpoint.shown()["state"] == "paused"
    receiver.status = 204
    receiver.received.clear()  # the failed try

    # While paused, each change is recorded in the feed and nothing is sent; two
    # changes to one user are two changes, not one.
    org2 = admin.scope("organization", "Org 2")
    admin.assign("ada@example.org", "edit", org2)
    admin.assign("ada@example.org", "share", org2)
    admin.assign("bob@example.org", "edit", org2)
    assert receiver.received == []
    missed_changes = sent_by_feed(feed(client, tenant))
    assert len(missed_changes) >= 5
    assert endpoint.shown()["held_deliveries"] >= len(missed_changes)

    resumed = admin.ok(admin.post(f"/webhooks/{endpoint.id}/resume"))
    assert resumed["state"] == "active" and resumed["consecutive_failures"] == 0
    assert as_changes(receiver.events()) == missed_changes
    assert {e["event"] for e in receiver.events()} == {"permissions.changed"}
    shown = endpoint.shown()
    assert shown["held_deliveries"] == 0
    assert shown["feed_cursor"] == missed_changes[-1]["cursor"]
    (event,) = admin.ok(admin.get("/audit", action="webhook.resume"))
    assert event["after"]["held_deliveries"] >= len(missed_changes)
    assert event["actor"].startswith("token:")


def test_one_run_at_a_time_per_endpoint(
    missed: Callable[..., Endpoint], receiver: Receiver, runtime: Runtime
) -> None:
    endpoint = missed()
    lock = webhooks.run_lock(runtime, endpoint.id)
    assert lock.acquire()
    try:
        busy = endpoint.deliver()
    finally:
        lock.release()
    assert busy.retry_in == webhooks.BUSY_RETRY_SECONDS and receiver.received == []
    assert endpoint.deliver().sent == 2


def test_a_run_that_used_its_budget_queues_the_next_and_nothing_is_lost(
    missed: Callable[..., Endpoint], receiver: Receiver, client: FlaskClient, tenant: TenantKeys
) -> None:
    endpoint = missed()
    outcome = endpoint.deliver(budget=webhooks.RunBudget(changes=1))
    assert outcome.more and outcome.sent == 1
    # The next run was queued through the outbox (in process, it has run since): it
    # went on from the cursor the first one left.
    assert as_changes(receiver.events()) == sent_by_feed(feed(client, tenant))
    assert endpoint.shown()["held_deliveries"] == 0


def test_a_revoked_or_foreign_webhook_cannot_be_resumed(
    make_endpoint: Callable[..., Endpoint],
    receiver: Receiver,
    admin: Admin,
    client: FlaskClient,
    make_tenant: Callable[[str], TenantKeys],
) -> None:
    endpoint = make_endpoint(receiver)
    other = make_tenant("globex")
    foreign = client.post(f"/api/v1/webhooks/{endpoint.id}/resume", headers=other.auth("admin"))
    assert foreign.status_code == 404
    assert (
        client.get(f"/api/v1/webhooks/{endpoint.id}", headers=other.auth("admin")).status_code
        == 404
    )
    admin.ok(admin.delete(f"/webhooks/{endpoint.id}"), 204)
    revoked = admin.post(f"/webhooks/{endpoint.id}/resume")
    assert revoked.status_code == 409
    assert endpoint.deliver().message == "skipped: webhook revoked"


def test_webhooks_are_listed_in_pages_and_filtered_by_state(
    admin: Admin, receiver: Receiver, make_endpoint: Callable[..., Endpoint]
) -> None:
    ids = [make_endpoint(receiver).id for _ in range(3)]
    admin.ok(admin.delete(f"/webhooks/{ids[0]}"), 204)
    page = admin.get("/webhooks", page=1, page_size=2)
    assert [w["id"] for w in admin.ok(page)] == ids[:2]
    assert json.loads(page.headers["X-Pagination"])["total"] == 3
    live = admin.ok(admin.get("/webhooks", revoked="false"))
    assert [w["id"] for w in live] == ids[1:]
    revoked = admin.ok(admin.get("/webhooks", revoked="true"))
    assert [(w["id"], w["state"]) for w in revoked] == [(ids[0], "revoked")]
    assert admin.ok(admin.get("/webhooks", paused="true")) == []
