"""A noisy neighbour on the production stack: tenant A's webhooks point at dead
receivers (ports nothing listens on, and a server that takes the connection and never
answers) while a group push changes hundreds of its users' sets, each a change in the
feed that every endpoint's runs must send. Tenant B's invitations are still mailed
within 10 s, because deliveries run on the `webhooks` queue with a worker of their own,
and A's endpoints end up paused with the changes they missed after their cursors.

Processes as the Procfile runs them: gunicorn, the relay, one Celery worker per queue
(permissions, invitations, webhooks), PostgreSQL, a Redis broker, and a real SMTP
server on loopback. With deliveries routed back onto the invitations queue this test
fails: B's invitation waits behind A's deliveries, each hanging one for 5 s.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller

from tests.e2e.conftest import BIN, LiveStack, free_port
from tests.e2e.scenario import GROUP_SCHEMA, USER_SCHEMA, eventually

pytestmark = pytest.mark.e2e

USERS = 150
DEAD_PORTS = 5
HANGING_ENDPOINTS = 2
INVITED = [f"neighbour-{n}@e2e.example.com" for n in range(3)]


@dataclass
class Inbox:
    """The loopback SMTP server's handler: when each recipient's message arrived."""

    arrived: dict[str, float] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for recipient in envelope.rcpt_tos:
            self.arrived.setdefault(recipient, time.monotonic())
        return "250 2.0.0 Queued"


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def hanging_receiver() -> Iterator[int]:
    """A port that takes TCP connections and never says a word (not even TLS's)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(512)
        yield server.getsockname()[1]


def dead_port() -> int:
    return free_port()  # bound and closed again: nothing listens there


@dataclass
class Tenant:
    stack: LiveStack
    name: str
    tokens: dict[str, str]

    def call(self, method: str, path: str, kind: str = "admin", **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[kind]}"}
        response = requests.request(
            method, f"{self.stack.base_url}{path}", headers=headers, timeout=30, **kwargs
        )
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json() if response.content else None


def make_tenant(stack: LiveStack, name: str) -> Tenant:
    stack.cli("tenant", "create", name)
    tokens = {
        kind: stack.cli("token", "create", "--tenant", name, "--kind", kind).strip()
        for kind in ("admin", "scim")
    }
    return Tenant(stack, name, tokens)


def start_worker(stack: LiveStack, queue: str, concurrency: int) -> None:
    name = f"worker-{queue}"
    stack.start(name, [
        str(BIN / "celery"), "-A", "worker.celery_app", "worker", "--loglevel", "INFO",
        "--queues", queue, "--pool", "prefork", "--concurrency", str(concurrency),
        "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle",
        "--without-heartbeat",
    ])  # fmt: skip


@pytest.fixture(scope="module")
def procfile_stack(live_stack: LiveStack, inbox: tuple[Inbox, int]) -> Iterator[LiveStack]:
    """The stack with one worker per queue, as the Procfile runs them, mailing through
    the loopback SMTP server, and web and workers allowing webhooks to loopback (the
    dead receivers of this test live there)."""
    _, smtp_port = inbox
    saved = dict(live_stack.env)
    live_stack.processes["worker"].stop()
    live_stack.processes["web"].stop()
    live_stack.env.update(
        ROLECALL_MAILER="smtp",
        ROLECALL_SMTP_HOST="127.0.0.1",
        ROLECALL_SMTP_PORT=str(smtp_port),
        ROLECALL_INVITATION_RATE_PER_MINUTE="100000",
        ROLECALL_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        ROLECALL_WEBHOOK_BREAKER_THRESHOLD="3",
        ROLECALL_WEBHOOK_RETRY_BASE_SECONDS="1",
    )
    live_stack.start_web()
    for queue, concurrency in (("permissions", 1), ("invitations", 1), ("webhooks", 2)):
        start_worker(live_stack, queue, concurrency)
    live_stack.wait_ready()
    try:
        yield live_stack
    finally:
        for name in ("worker-permissions", "worker-invitations", "worker-webhooks", "web"):
            live_stack.processes.pop(name).stop()
        live_stack.env.clear()
        live_stack.env.update(saved)
        live_stack.start_web()
        live_stack.start_worker()
        live_stack.wait_ready()


def test_a_tenants_dead_receivers_and_recompute_storm_do_not_delay_anothers_invitations(
    procfile_stack: LiveStack, inbox: tuple[Inbox, int], hanging_receiver: int
) -> None:
    handler, _ = inbox
    stamp = int(time.time())
    noisy = make_tenant(procfile_stack, f"noisy-{stamp}")
    quiet = make_tenant(procfile_stack, f"quiet-{stamp}")

    # Tenant A: a role mapped from a group, users, and webhooks nobody answers.
    noisy.call("POST", "/api/v1/catalogs/reporting/load", json={})
    org = noisy.call("POST", "/api/v1/scopes", json={"type": "organization", "name": "Org"})
    noisy.call(
        "POST",
        "/api/v1/mappings",
        json={
            "group": {"kind": "displayName", "value": "Everyone"},
            "role_key": "view",
            "scope_id": org["id"],
        },
    )
    users = [
        noisy.call(
            "POST",
            "/scim/v2/Users",
            kind="scim",
            json={"schemas": [USER_SCHEMA], "userName": f"user{n}@noisy.example.com"},
        )["id"]
        for n in range(USERS)
    ]
    urls = [f"https://127.0.0.1:{dead_port()}/hook" for _ in range(DEAD_PORTS)]
    urls += [f"https://127.0.0.1:{hanging_receiver}/hook{n}" for n in range(HANGING_ENDPOINTS)]
    hooks = [noisy.call("POST", "/api/v1/webhooks", json={"url": url})["id"] for url in urls]

    # The storm: one push puts every user in the group; each one's set changes, and each
    # endpoint's runs try to send every change.
    noisy.call(
        "POST",
        "/scim/v2/Groups",
        kind="scim",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "Everyone",
            "members": [{"value": user} for user in users],
        },
    )

    def failures() -> int:
        listed = noisy.call("GET", "/api/v1/webhooks", params={"page_size": 100})
        return sum(hook["consecutive_failures"] for hook in listed)

    eventually(lambda: failures() >= len(hooks), 30, "deliveries to the dead receivers failing")

    # Tenant B invites while A's deliveries fail and hang.
    sent_at = time.monotonic()
    for address in INVITED:
        quiet.call("POST", "/api/v1/invitations", json={"email": address, "name": "Neighbour"})
    eventually(lambda: all(a in handler.arrived for a in INVITED), 10, "B's invitations mailed")
    assert max(handler.arrived[a] for a in INVITED) - sent_at < 10

    # A's endpoints are paused, what they missed kept in the feed after their cursors.
    def all_paused() -> list[dict[str, Any]] | None:
        listed = noisy.call("GET", "/api/v1/webhooks", params={"paused": "true"})
        return listed if len(listed) == len(hooks) else None

    paused = eventually(all_paused, 90, "every dead endpoint paused")
    assert sum(hook["held_deliveries"] for hook in paused) > 0
    assert all(hook["last_error"] for hook in paused)
    worker_logs = procfile_stack.processes["worker-invitations"].log()
    assert "rolecall.webhooks.deliver[" not in worker_logs  # no delivery ran there
