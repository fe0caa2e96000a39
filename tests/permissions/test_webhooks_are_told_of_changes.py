"""Webhooks: a tenant is told of each change to a user's permission set, signed, and
a receiver that fails is tried again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask.testing import FlaskClient

from service.services import webhooks
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory


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
    user_id = directory.user("ada@example.org")
    admin.assign("ada@example.org", "manage", org)

    sent = [e for e in events(receiver) if e["user_id"] == user_id]
    assert sent and sent[-1]["event"] == "permissions.changed"
    assert sent[-1]["permissions"]["scopes"][org]["reporting/manage"]["level"] == "granted"
    headers, body = receiver.received[-1]
    secret = hook["secret"]
    expected = webhooks.sign(secret, headers["X-Rolecall-Timestamp"], body)
    assert headers["X-Rolecall-Signature"] == expected


def test_a_recompute_that_changes_nothing_sends_nothing(
    admin: Admin, directory: Directory, receiver: Receiver, hook: dict, runtime
) -> None:
    from service.services import permission_recompute

    admin.load("reporting")
    org = admin.scope("organization", "Org")
    user_id = directory.user("ada@example.org")
    admin.assign("ada@example.org", "manage", org)
    count = len(receiver.received)
    permission_recompute.recompute_users(runtime, admin.keys.id, [user_id])
    assert len(receiver.received) == count


def test_a_recompute_that_died_before_its_cache_write_has_announced_already(
    admin: Admin,
    directory: Directory,
    receiver: Receiver,
    hook: dict,
    runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The change is recorded (and its deliveries with it) before the set is written to
    Redis, so a worker dying in between loses no announcement; the retried task writes
    the cache and announces nothing twice."""
    from service.services import permission_recompute

    admin.load("reporting")
    org = admin.scope("organization", "Org")
    user_id = directory.user("ada@example.org")
    count = len(receiver.received)

    def dies(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the worker lost Redis")

    monkeypatch.setattr(runtime.cache, "store_many", dies)
    admin.assign("ada@example.org", "manage", org)  # its recompute task fails at the write
    monkeypatch.undo()
    assert "reporting/manage" not in str(runtime.cache.body_of(admin.keys.id, user_id))
    sent = [e for e in events(receiver)[count:] if e["user_id"] == user_id]
    assert sent and sent[-1]["permissions"]["scopes"][org]["reporting/manage"]["level"] == "granted"

    # The task is redelivered: the cache gets the set; the webhook is not told again.
    permission_recompute.recompute_users(runtime, admin.keys.id, [user_id])
    assert runtime.cache.body_of(admin.keys.id, user_id)["scopes"][org]["reporting/manage"]
    assert len([e for e in events(receiver)[count:] if e["user_id"] == user_id]) == len(sent)


def test_a_failing_receiver_is_tried_again(
    admin: Admin, directory: Directory, receiver: Receiver, hook: dict, runtime
) -> None:
    from service.services import relay

    admin.load("reporting")
    org = admin.scope("organization", "Org")
    directory.user("ada@example.org")
    receiver.fail_next = 2  # two 503s, then it takes the event
    admin.assign("ada@example.org", "manage", org)
    assert receiver.received == []
    # The failed delivery stays in the outbox; the periodic sweep tries it again.
    relay.relay(runtime)
    assert receiver.received == []
    relay.relay(runtime)
    assert any(e["permissions"]["scopes"].get(org) for e in events(receiver))


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
