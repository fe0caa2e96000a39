"""Webhook tests: real HTTP receivers on loopback, an admin client, endpoints whose
delivery runs a test drives by hand, the tenant's feed as GET /api/v1/changes serves
it, and a resolver that answers what a test needs (a name resolving to a private
address, or to a different address on the second look: DNS rebinding)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from service.persistence.base import utcnow
from service.persistence.webhook_models import Webhook
from service.runtime import Runtime
from service.services import change_feed, webhooks
from service.services.webhook_destinations import DestinationPolicy
from service.settings import Settings
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory

LOOPBACK = DestinationPolicy.from_settings(Settings())


@dataclass
class Receiver:
    """An HTTP server on loopback that records what it is sent and answers `status`
    (with `headers`), or `fail_next` times 503 first (not recorded), or first each of
    `answers` in turn (recorded)."""

    port: int = 0
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    fail_next: int = 0
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self) -> list[dict[str, Any]]:
        """The events it recorded, oldest first."""
        return [json.loads(body) for _, body in self.received]


def _serve(state: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.fail_next:
                state.fail_next -= 1
                self.send_response(503)
            else:
                state.received.append((dict(self.headers), body))
                self.send_response(state.answers.pop(0) if state.answers else state.status)
                for name, value in state.headers.items():
                    self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receivers() -> Iterator[Callable[[], Receiver]]:
    """Makes receivers; each is stopped at the end of the test."""
    servers: list[ThreadingHTTPServer] = []

    def make() -> Receiver:
        state = Receiver()
        servers.append(_serve(state))
        return state

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(receivers: Callable[[], Receiver]) -> Receiver:
    return receivers()


class FakeDns:
    """A resolver: each name answers its list of addresses in turn (the last one
    repeats); every lookup is recorded."""

    def __init__(self, **names: list[str]) -> None:
        self.answers = {name.replace("_", "."): list(a) for name, a in names.items()}
        self.lookups: list[str] = []

    def set(self, name: str, *answers: str) -> None:
        self.answers[name] = list(answers)

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.answers.get(host)
        if not answers:
            return []
        return [answers.pop(0) if len(answers) > 1 else answers[0]]


@pytest.fixture
def admin(client: FlaskClient, tenant: TenantKeys) -> Admin:
    return Admin(client, tenant)


@pytest.fixture
def directory(runtime: Runtime, tenant: TenantKeys) -> Directory:
    return Directory(runtime, tenant.id)


def rewind(runtime: Runtime, webhook_id: str, cursor: int = 0) -> None:
    """Put the webhook's feed cursor back to `cursor`: it has yet to be sent everything
    after it, as a webhook that was never reached would. A change made for a test
    queues a run of its own; this gives a test changes to send with none queued."""
    with runtime.unit_of_work() as uow:
        uow.session.execute(
            update(Webhook).where(Webhook.id == webhook_id).values(feed_cursor=cursor)
        )


def backoff_passed(runtime: Runtime, webhook_id: str) -> None:
    """The endpoint's backoff is over (its failed run's retry is due)."""
    with runtime.unit_of_work() as uow:
        uow.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def window_passed(runtime: Runtime) -> None:
    """The feed's retained window has passed over every change recorded so far: a
    cursor before the last of them is answered 410 (GET /api/v1/changes) from now on."""
    with runtime.unit_of_work() as uow:
        change_feed.prune(uow.session, timedelta(0), now=utcnow() + timedelta(seconds=1))


def feed(client: FlaskClient, tenant: TenantKeys, after: str = "0") -> list[dict[str, Any]]:
    """Every change of the tenant's feed after `after`, as GET /api/v1/changes serves it."""
    changes: list[dict[str, Any]] = []
    while True:
        response = client.get(
            "/api/v1/changes", query_string={"after": after, "limit": 1000},
            headers=tenant.auth("read"),
        )  # fmt: skip
        assert response.status_code == 200, response.get_data(True)
        changes += response.json["changes"]
        after = response.json["cursor"]
        if not response.json["more"]:
            return changes


def as_changes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Webhook events as the feed's changes: without the event's name and tenant."""
    return [{k: v for k, v in e.items() if k not in ("event", "tenant_id")} for e in events]


def sent_by_feed(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes a webhook is sent: all but the scope tree's."""
    return [c for c in changes if c["kind"] != "scopes"]


class Endpoint:
    """One webhook of the admin's tenant, to `receiver`, whose runs a test makes by
    calling the use case as the task does, with a breaker of `threshold`."""

    def __init__(self, runtime: Runtime, admin: Admin, receiver: Receiver, threshold: int) -> None:
        self.runtime = runtime
        self.admin = admin
        self.receiver = receiver
        self.tenant_id = admin.keys.id
        self.breaker = webhooks.Breaker(threshold=threshold, retry_base_seconds=2.0)
        made = admin.ok(admin.post("/webhooks", {"url": receiver.url}), 201)
        self.id: str = made["id"]
        self.secret: str = made["secret"]

    def deliver(
        self, attempt: int = 0, budget: webhooks.RunBudget | None = None
    ) -> webhooks.Outcome:
        return webhooks.deliver(
            self.runtime, self.tenant_id, self.id, LOOPBACK, self.breaker, attempt, budget
        )

    def retried(self) -> webhooks.Outcome:
        """A run as the retry of the last failed one makes it, once the backoff passed."""
        self.backoff_passed()
        return self.deliver()

    def shown(self) -> dict[str, Any]:
        return self.admin.ok(self.admin.get(f"/webhooks/{self.id}"))

    def rewind(self, cursor: int = 0) -> None:
        rewind(self.runtime, self.id, cursor)

    def backoff_passed(self) -> None:
        backoff_passed(self.runtime, self.id)


@pytest.fixture
def make_endpoint(runtime: Runtime, admin: Admin) -> Callable[..., Endpoint]:
    def make(receiver: Receiver, threshold: int = 3) -> Endpoint:
        return Endpoint(runtime, admin, receiver, threshold)

    return make
