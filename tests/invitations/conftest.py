"""A real SMTP server on loopback (aiosmtpd), and the runtime pointed at it.

The server keeps every message it accepted; `reject` makes it answer RCPT for an
address with a 5xx, `drop_next` makes it close the connection on the next DATA
without a reply (a connection dropped mid-job), `greylist` answers 451 once.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask.testing import FlaskClient

from service.runtime import Runtime
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin
from tests.permissions.conftest import directory as directory  # users as an IdP left them

LINK = re.compile(r"https?://[^\s\"<>]+/invitations/(rci_[A-Za-z0-9_\-]+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Inbox:
    """What the SMTP server received and the failures it was told to act out."""

    messages: list[EmailMessage] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)
    drop_next: int = 0
    greylist: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def recipients(self) -> list[str]:
        return [str(m["To"]) for m in self.messages]

    @staticmethod
    def token(message: EmailMessage) -> str:
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = LINK.search(text)
        assert found, text
        return found.group(1)

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    @staticmethod
    def html(message: EmailMessage) -> str:
        return message.get_body(("html",)).get_content()  # type: ignore[union-attr]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.inbox.rejected:
            return "550 5.1.1 No such user here"
        if address in self.inbox.greylist:
            self.inbox.greylist.discard(address)
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.inbox.lock:
            if self.inbox.drop_next > 0:
                self.inbox.drop_next -= 1
                # Closing without a reply: the client never sees a 250.
                server.transport.close()  # type: ignore[union-attr]
                return "421 closing"
            message = email.message_from_bytes(
                envelope.content,  # type: ignore[arg-type]
                policy=email.policy.default,
            )
            self.inbox.messages.append(message)  # type: ignore[arg-type]
        return "250 2.0.0 Queued"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(
    smtp_server: tuple[Inbox, int], runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> Inbox:
    """The runtime sends through the loopback SMTP server; retries wait milliseconds."""
    box, port = smtp_server
    monkeypatch.setattr(
        runtime,
        "settings",
        runtime.settings.with_overrides(
            mailer="smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_timeout_seconds=5.0,
            invitation_retry_base_seconds=0.01,
            mail_from="Acme Invitations <invitations@acme.test>",
        ),
    )
    return box


@pytest.fixture
def admin(client: FlaskClient, tenant: TenantKeys) -> Callable[..., Any]:
    """Calls the admin API as the tenant's admin token."""

    def call(method: str, path: str, **kwargs: Any) -> Any:
        headers = {**tenant.auth("admin"), **kwargs.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


@dataclass
class Reeport:
    """Seed 003's scopes: an organization, Folder 1 with Report 1 in it, and Folder 2."""

    org: str
    folder: str
    report: str
    other_folder: str


@pytest.fixture
def model(client: FlaskClient, tenant: TenantKeys) -> Admin:
    """The permission model's admin helpers (tests/permissions), as the tenant's admin."""
    return Admin(client, tenant)


@pytest.fixture
def reeport(model: Admin) -> Reeport:
    """Seed 003's reporting tool: an organization, a folder in it, a report in that."""
    model.load("reporting")
    org = model.scope("organization", "Reeport Org")
    folder = model.scope("folder", "Folder 1", org)
    return Reeport(
        org,
        folder,
        model.scope("report", "Report 1", folder),
        model.scope("folder", "Folder 2", org),
    )
