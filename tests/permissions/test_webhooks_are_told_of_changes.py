"""Webhooks: a tenant is told of each change to a user's permission set, as its change
feed records it, signed; a receiver that fails is tried again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from service.persistence.base import utcnow
from service.persistence.outbox import OutboxRecord
from service.persistence.unit_of_work import UnitOfWork
from service.persistence.webhook_models import Webhook
from service.runtime import Runtime
from service.services import permission_recompute, relay, webhooks
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.webhooks.conftest import backoff_passed, feed


@dataclass
class Receiver:
    """An HTTP server on loopback that records what it is sent."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_next: int = 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.fail_next:
                state.fail_next -= 1
                self.send_response(503)
            else:
                state.received.append((dict(self.headers), body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook(admin: Admin, receiver: Receiver) -> dict:
    return admin.ok(admin.post("/webhooks", {"url": receiver.url, "description": "app"}), 201)


def events(receiver: Receiver) -> list[dict]:
    return [json.loads(body) for _, body in receiver.received]


def test_a_change_to_a_users_set_is_posted_and_signed(
    admin: Admin, directory: Directory, receiver: Receiver, hook: dict
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    user_id = directory.user("ada@example.org", external_id="ada-1")
    admin.assign("ada@example.org", "manage", org)

    sent = [e for e in events(receiver) if e["user_id"] == user_id]
    assert sent and sent[-1]["event"] == "permissions.changed"
    assert sent[-1]["tenant_id"] == admin.keys.id and sent[-1]["kind"] == "changed"
    assert (sent[-1]["user_name"], sent[-1]["external_id"]) == ("ada@example.org", "ada-1")
    assert sent[-1]["permissions"]["scopes"][org]["reporting/manage"]["level"] == "granted"
    assert sent[-1]["version"] == sent[-1]["permissions"]["version"]
    headers, body = receiver.received[-1]
    secret = hook["secret"]
    expected = webhooks.sign(secret, headers["X-Rolecall-Timestamp"], body)
    assert headers["X-Rolecall-Signature"] == expected


def test_a_new_webhook_is_told_of_changes_from_its_creation_on(
    admin: Admin, directory: Directory, receiver: Receiver
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    directory.user("ada@example.org")
    admin.assign("ada@example.org", "view", org)
    made = admin.ok(admin.post("/webhooks", {"url": receiver.url}), 201)
    assert made["held_deliveries"] == 0 and int(made["feed_cursor"]) > 0
    admin.assign("ada@example.org", "edit", org)
    (event,) = events(receiver)
    assert int(event["cursor"]) > int(made["feed_cursor"])
    assert "reporting/edit" in event["permissions"]["scopes"][org]


def test_a_burst_of_changes_queues_one_run_per_active_webhook(
    admin: Admin, receiver: Receiver, runtime: Runtime, tenant: TenantKeys
) -> None:
    active, paused, revoked = (
        admin.ok(admin.post("/webhooks", {"url": receiver.url}), 201)["id"] for _ in range(3)
    )
    with runtime.unit_of_work() as uow:  # as its breaker would
        uow.session.execute(update(Webhook).where(Webhook.id == paused).values(paused_at=utcnow()))
    admin.ok(admin.delete(f"/webhooks/{revoked}"), 204)

    # Three recordings, in transactions whose rows nobody sends yet.
    for _ in range(3):
        with UnitOfWork(runtime.sessions) as uow:
            assert webhooks.feed_moved(uow.session, tenant.id) == 1
    with runtime.unit_of_work() as uow:
        queued = uow.session.scalars(
            select(OutboxRecord.object_id).where(OutboxRecord.task == webhooks.DELIVER)
        ).all()
    assert queued == [active]


def test_a_recompute_that_changes_nothing_sends_nothing(
    admin: Admin, directory: Directory, receiver: Receiver, hook: dict, runtime: Runtime
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    user_id = directory.user("ada@example.org")
    admin.assign("ada@example.org", "manage", org)
    count = len(receiver.received)
    permission_recompute.recompute_users(runtime, admin.keys.id, [user_id])
    assert len(receiver.received) == count


def test_a_change_is_sent_even_when_its_recompute_dies_before_the_cache_write(
    admin: Admin,
    directory: Directory,
    receiver: Receiver,
    hook: dict,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    user_id = directory.user("ada@example.org")
    count = len(receiver.received)

    # The worker loses Redis between recording the new set in the feed and caching it.
    def dies(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the worker lost Redis")

    monkeypatch.setattr(runtime.cache, "store_many", dies)
    admin.assign("ada@example.org", "manage", org)
    monkeypatch.undo()

    # The webhook was told from the feed, which committed first.
    (event,) = events(receiver)[count:]
    assert event["user_id"] == user_id
    assert event["permissions"]["scopes"][org]["reporting/manage"]["level"] == "granted"
    assert runtime.cache.body_of(admin.keys.id, user_id) is None
    # The task's retry caches the same set: no change, nothing sent again.
    permission_recompute.recompute_users(runtime, admin.keys.id, [user_id])
    cached = runtime.cache.body_of(admin.keys.id, user_id)
    assert cached["scopes"] == event["permissions"]["scopes"]
    assert len(receiver.received) == count + 1


def test_a_failing_receiver_is_tried_again_after_its_backoff(
    admin: Admin, directory: Directory, receiver: Receiver, hook: dict, runtime: Runtime
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    directory.user("ada@example.org")
    receiver.fail_next = 2  # two 503s, then it takes the event
    admin.assign("ada@example.org", "manage", org)
    assert receiver.received == [] and receiver.fail_next == 1
    # The failed run stays in the outbox; the periodic sweep runs it again, and it
    # waits for the endpoint's backoff before it tries the receiver.
    relay.relay(runtime)
    assert receiver.fail_next == 1
    backoff_passed(runtime, hook["id"])
    relay.relay(runtime)
    assert receiver.received == [] and receiver.fail_next == 0
    backoff_passed(runtime, hook["id"])
    relay.relay(runtime)
    assert any(e["permissions"]["scopes"].get(org) for e in events(receiver))


def test_a_webhook_is_sent_what_the_feed_says_in_its_order(
    admin: Admin,
    directory: Directory,
    receiver: Receiver,
    hook: dict,
    runtime: Runtime,
    client: FlaskClient,
    tenant: TenantKeys,
) -> None:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    spare = admin.scope("folder", "Spare", parent=org)
    ada, bob, cy = (directory.user(f"{n}@example.org") for n in ("ada", "bob", "cy"))
    admin.map("Staff", "view", org)
    staff = directory.group("Staff", users=[ada, bob])
    permission_recompute.recompute_group(runtime, tenant.id, staff)
    admin.assign("cy@example.org", "edit", org)
    admin.ok(admin.delete(f"/scopes/{spare}"))  # a scope-tree change: not sent
    directory.remove(staff, bob)
    permission_recompute.recompute_users(runtime, tenant.id, [bob])
    directory.set_active(ada, False)
    permission_recompute.deprovision(runtime, tenant.id, ada)
    directory.delete_user(cy)
    permission_recompute.deprovision(runtime, tenant.id, cy)
    admin.assign("bob@example.org", "manage", org)

    changes = feed(client, tenant)
    assert {"changed", "deprovisioned", "deleted", "scopes"} <= {c["kind"] for c in changes}
    sent = events(receiver)
    assert {(e["event"], e["tenant_id"]) for e in sent} == {("permissions.changed", tenant.id)}
    # The same changes, in the same order, with the same cursors: each event is the
    # feed's change with the event's name and tenant before it.
    assert [{k: v for k, v in e.items() if k not in ("event", "tenant_id")} for e in sent] == [
        c for c in changes if c["kind"] != "scopes"
    ]
    shown = admin.ok(admin.get(f"/webhooks/{hook['id']}"))
    assert shown["feed_cursor"] == changes[-1]["cursor"] and shown["held_deliveries"] == 0


def test_a_revoked_webhook_is_sent_nothing(
    admin: Admin, directory: Directory, receiver: Receiver, hook: dict
) -> None:
    admin.ok(admin.delete(f"/webhooks/{hook['id']}"), 204)
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    directory.user("ada@example.org")
    admin.assign("ada@example.org", "manage", org)
    assert receiver.received == []
    listed = admin.ok(admin.get("/webhooks"))
    assert listed[0]["revoked_at"] is not None and "secret" not in listed[0]


def test_a_webhook_url_must_be_http(admin: Admin) -> None:
    response = admin.post("/webhooks", {"url": "file:///etc/passwd"})
    assert response.status_code == 422
    assert response.json["errors"] == {"url": ["url must be an absolute http(s) URL"]}


def test_webhooks_are_per_tenant(
    client: FlaskClient, make_tenant, admin: Admin, hook: dict
) -> None:
    other: TenantKeys = make_tenant("globex")
    listed = client.get("/api/v1/webhooks", headers=other.auth("admin")).json
    assert listed == []
    gone = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=other.auth("admin"))
    assert gone.status_code == 404
