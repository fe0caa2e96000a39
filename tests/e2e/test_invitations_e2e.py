"""Invitations on the production stack: gunicorn, a Celery worker process on the
invitations queue, PostgreSQL, a Redis broker, and a real SMTP server on loopback.

The worker's pool process is killed (SIGKILL by PID) in the middle of a bulk job,
after the SMTP server accepted some messages and before the batch task was
acknowledged: the job still completes and nobody is mailed twice.
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller

from tests.e2e.conftest import LiveStack, free_port
from tests.invitations.conftest import LINK

pytestmark = pytest.mark.e2e


@dataclass
class CountingSmtp:
    """Counts accepted messages per recipient; can hold the reply to message `pause_at`
    until released, and then refuse it (no 250 was ever sent for it)."""

    received: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, str] = field(default_factory=dict)
    pause_at: int | None = None
    paused: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.pause_at is not None and sum(self.received.values()) + 1 == self.pause_at:
            self.pause_at = None
            self.paused.set()
            self.release.wait(timeout=60)
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        to = str(message["To"])
        self.received[to] += 1
        self.bodies[to] = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        return "250 2.0.0 Queued"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[CountingSmtp, int]]:
    handler = CountingSmtp()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        handler.release.set()
        controller.stop()


@dataclass
class MailStack:
    """The live stack, and an admin token of a tenant of this module's own (so the
    hundreds of users it invites never show up in other tests' tenant)."""

    stack: LiveStack
    admin_token: str

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    @property
    def processes(self) -> dict[str, Any]:
        return self.stack.processes

    def auth(self, kind: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


@pytest.fixture(scope="module")
def mail_stack(live_stack: LiveStack, smtp: tuple[CountingSmtp, int]) -> Iterator[MailStack]:
    """The stack's worker restarted to send through the loopback SMTP server."""
    _, port = smtp
    tenant = f"{live_stack.tenant}-invitations"
    live_stack.cli("tenant", "create", tenant)
    token = live_stack.cli("token", "create", "--tenant", tenant, "--kind", "admin").strip()
    saved = dict(live_stack.env)
    live_stack.processes["worker"].stop()
    live_stack.env.update(
        ROLECALL_MAILER="smtp",
        ROLECALL_SMTP_HOST="127.0.0.1",
        ROLECALL_SMTP_PORT=str(port),
        ROLECALL_MAIL_FROM="Invitations <invitations@e2e.example.com>",
        ROLECALL_INVITATION_RETRY_BASE_SECONDS="0.2",
        ROLECALL_INVITATION_RATE_PER_MINUTE="100000",
    )
    live_stack.start_worker()
    try:
        yield MailStack(live_stack, token)
    finally:
        live_stack.processes["worker"].stop()
        live_stack.env.clear()
        live_stack.env.update(saved)
        live_stack.start_worker()


def pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def wait_job(stack: MailStack, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = requests.get(
            f"{stack.base_url}/api/v1/jobs/{job_id}", headers=stack.auth("admin"), timeout=5
        ).json()
        if job["status"] == "completed" or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def test_a_worker_killed_mid_job_leaves_nobody_mailed_twice_and_the_job_completes(
    mail_stack: MailStack, smtp: tuple[CountingSmtp, int]
) -> None:
    handler, _ = smtp
    count = 300
    handler.pause_at = 121
    body = "email,name\n" + "".join(f"kill{i}@e2e.example.com,Person {i}\n" for i in range(count))
    submitted = requests.post(
        f"{mail_stack.base_url}/api/v1/invitations/bulk",
        data=body.encode(),
        headers={**mail_stack.auth("admin"), "Content-Type": "text/csv"},
        timeout=30,
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]

    assert handler.paused.wait(timeout=60), mail_stack.processes["worker"].log()[-3000:]
    # Everything the server took so far is recorded as sent before the kill.
    job = wait_job(mail_stack, job_id, timeout=0)
    deadline = time.monotonic() + 20
    while job["totals"]["sent"] < 120 and time.monotonic() < deadline:
        time.sleep(0.1)
        job = wait_job(mail_stack, job_id, timeout=0)
    assert job["totals"]["sent"] == 120
    worker = mail_stack.processes["worker"]
    [child] = pool_children(worker.popen.pid)
    os.kill(child, signal.SIGKILL)
    handler.release.set()

    final = wait_job(mail_stack, job_id, timeout=90)
    assert final["status"] == "completed", (final, worker.log()[-4000:])
    assert final["totals"]["sent"] == count
    assert final["totals"]["failed"] == 0
    assert len(handler.received) == count
    twice = [to for to, n in handler.received.items() if n > 1]
    assert twice == []
    assert worker.popen.poll() is None  # the worker itself lived on with a new pool process
    assert "WorkerLostError" in worker.log() or "SIGKILL" in worker.log()


def test_a_link_from_a_delivered_message_works_once_on_the_live_service(
    mail_stack: MailStack, smtp: tuple[CountingSmtp, int]
) -> None:
    handler, _ = smtp
    created = requests.post(
        f"{mail_stack.base_url}/api/v1/invitations",
        json={"email": "link@e2e.example.com", "name": "Link Person"},
        headers=mail_stack.auth("admin"),
        timeout=10,
    )
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 30
    while "link@e2e.example.com" not in handler.bodies and time.monotonic() < deadline:
        time.sleep(0.1)
    found = LINK.search(handler.bodies["link@e2e.example.com"])
    assert found is not None
    url = found.group(0)
    assert url.startswith(mail_stack.base_url)
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Accept invitation" in page.text
    assert requests.post(f"{url}/accept", json={}, timeout=5).status_code == 200
    assert requests.post(f"{url}/accept", json={}, timeout=5).status_code == 410
    time.sleep(0.5)
    logs = "".join(p.log() for p in mail_stack.processes.values())
    assert found.group(1) not in logs
