"""A receiver that keeps failing: each retry waits longer (per endpoint), after N
consecutive failures the endpoint is paused and its deliveries are held, the
webhook shows why, and an admin resumes it, which sends the held users' newest sets."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from service.runtime import Runtime
from service.services import webhooks
from service.services.webhook_destinations import DestinationPolicy
from service.settings import Settings
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.webhooks.conftest import Receiver

LOOPBACK = DestinationPolicy.from_settings(Settings())


class Endpoint:
    """One webhook of the admin's tenant, delivered to by calling the use case as the
    task does, with a breaker of `threshold`."""

    def __init__(self, runtime: Runtime, admin: Admin, receiver: Receiver, threshold: int) -> None:
        self.runtime = runtime
        self.admin = admin
        self.tenant_id = admin.keys.id
        self.breaker = webhooks.Breaker(threshold=threshold, retry_base_seconds=2.0)
        made = admin.ok(admin.post("/webhooks", {"url": receiver.url}), 201)
        self.id: str = made["id"]

    def deliver(self, user_id: str, attempt: int = 0) -> webhooks.Outcome:
        return webhooks.deliver(
            self.runtime.unit_of_work,
            self.runtime.settings.secret_key,
            self.tenant_id,
            f"{self.id}:{user_id}",
            LOOPBACK,
            self.breaker,
            attempt=attempt,
        )

    def shown(self) -> dict:
        return self.admin.ok(self.admin.get(f"/webhooks/{self.id}"))


@pytest.fixture
def make_endpoint(runtime: Runtime, admin: Admin) -> Callable[..., Endpoint]:
    def make(receiver: Receiver, threshold: int = 3) -> Endpoint:
        return Endpoint(runtime, admin, receiver, threshold)

    return make


@pytest.fixture
def users(admin: Admin, directory: Directory) -> list[str]:
    """Two users whose sets are cached (each granted `view` at an organization)."""
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    ids = [directory.user(name) for name in ("ada@example.org", "bob@example.org")]
    for name in ("ada@example.org", "bob@example.org"):
        admin.assign(name, "view", org)
    return ids


def test_the_backoff_grows_with_the_endpoints_failures_not_the_deliverys(
    make_endpoint: Callable[..., Endpoint], receiver: Receiver, users: list[str]
) -> None:
    endpoint = make_endpoint(receiver, threshold=10)
    receiver.status = 503
    ada, bob = users
    # Three deliveries, of two users, each on its first try: the endpoint's
    # failures, not each delivery's, set the wait.
    delays = [endpoint.deliver(user).retry_in for user in (ada, bob, ada)]
    assert delays == [2.0, 4.0, 8.0]
    shown = endpoint.shown()
    assert shown["consecutive_failures"] == 3 and shown["last_error"] == "HTTP 503"
    assert shown["next_attempt_at"] is not None and shown["state"] == "active"


def test_a_success_clears_the_endpoints_failures(
    make_endpoint: Callable[..., Endpoint], receiver: Receiver, users: list[str]
) -> None:
    endpoint = make_endpoint(receiver, threshold=10)
    receiver.fail_next = 2
    assert endpoint.deliver(users[0]).retry_in == 2.0
    assert endpoint.deliver(users[0]).retry_in == 4.0
    assert endpoint.deliver(users[0]).message == "delivered: HTTP 204"
    shown = endpoint.shown()
    assert shown["consecutive_failures"] == 0 and shown["next_attempt_at"] is None
    assert shown["last_error"] == "HTTP 503"  # still shown: when it last went wrong


def test_after_n_consecutive_failures_the_endpoint_is_paused_and_shows_why(
    make_endpoint: Callable[..., Endpoint], receiver: Receiver, users: list[str], admin: Admin
) -> None:
    endpoint = make_endpoint(receiver, threshold=3)
    receiver.status = 500
    ada, bob = users
    outcomes = [endpoint.deliver(user) for user in (ada, bob, ada)]
    assert [o.retry_in for o in outcomes] == [2.0, 4.0, None]
    assert outcomes[-1].message == "held: endpoint paused (HTTP 500)"
    shown = endpoint.shown()
    assert shown["state"] == "paused" and shown["paused_at"] is not None
    assert shown["consecutive_failures"] == 3 and shown["last_error"] == "HTTP 500"
    assert shown["next_attempt_at"] is None and shown["held_deliveries"] == 1
    # A paused endpoint is sent nothing more: the next delivery is held at once.
    sent = len(receiver.received)
    assert endpoint.deliver(bob).message == "held: endpoint paused"
    assert len(receiver.received) == sent and endpoint.shown()["held_deliveries"] == 2
    paused = admin.ok(admin.get("/audit", action="webhook.pause"))
    assert [e["actor"] for e in paused] == [webhooks.SYSTEM_ACTOR]


def test_a_delivery_out_of_retries_pauses_its_endpoint_rather_than_being_dropped(
    make_endpoint: Callable[..., Endpoint], receiver: Receiver, users: list[str]
) -> None:
    endpoint = make_endpoint(receiver, threshold=50)
    receiver.status = 502
    outcome = endpoint.deliver(users[0], attempt=webhooks.MAX_RETRIES)
    assert outcome.message.startswith("held") and endpoint.shown()["state"] == "paused"


def test_changes_to_a_paused_endpoint_are_held_and_sent_newest_when_it_is_resumed(
    make_endpoint: Callable[..., Endpoint],
    receiver: Receiver,
    users: list[str],
    admin: Admin,
) -> None:
    endpoint = make_endpoint(receiver, threshold=1)
    receiver.status = 503
    ada, bob = users
    endpoint.deliver(ada)
    assert endpoint.shown()["state"] == "paused"
    receiver.status = 204
    received = len(receiver.received)

    # While paused, a change to each user's set is held (not sent, not dropped),
    # and a second change to one user adds nothing to hold.
    org2 = admin.scope("organization", "Org 2")
    admin.assign("ada@example.org", "edit", org2)
    admin.assign("ada@example.org", "share", org2)
    admin.assign("bob@example.org", "edit", org2)
    assert len(receiver.received) == received
    assert endpoint.shown()["held_deliveries"] == 2

    resumed = admin.ok(admin.post(f"/webhooks/{endpoint.id}/resume"))
    assert resumed["state"] == "active" and resumed["consecutive_failures"] == 0
    assert resumed["held_deliveries"] == 0
    sent = [json.loads(body) for _, body in receiver.received[received:]]
    assert sorted(e["user_id"] for e in sent) == sorted([ada, bob])
    newest = next(e for e in sent if e["user_id"] == ada)
    assert set(newest["permissions"]["scopes"][org2]) >= {"reporting/edit", "reporting/share"}
    (event,) = admin.ok(admin.get("/audit", action="webhook.resume"))
    assert event["after"]["released_deliveries"] == 2
    assert event["actor"].startswith("token:")


def test_a_revoked_or_foreign_webhook_cannot_be_resumed(
    make_endpoint: Callable[..., Endpoint],
    receiver: Receiver,
    admin: Admin,
    client,
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
