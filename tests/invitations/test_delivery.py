"""The delivery rule that keeps a person from getting two emails for one invitation,
the per-tenant rate limit, and the mailer contract every implementation keeps."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from sqlalchemy import select, update

from service.cache.rate_limit import RateLimiter
from service.mail import (
    Mailer,
    OutgoingMessage,
    PermanentMailError,
    TransientMailError,
)
from service.mail.folder import FolderMailer
from service.mail.http import HttpMailer
from service.mail.smtp import SmtpMailer
from service.persistence.base import utcnow
from service.persistence.invitation_models import Invitation, InvitationDelivery
from service.runtime import Runtime
from service.services import invitation_delivery, invitations
from tests.conftest import TenantKeys
from tests.invitations.conftest import Inbox, free_port


@pytest.fixture
def held_back(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Tasks are recorded instead of run, so a test drives delivery step by step."""
    sent: list[tuple[str, Any]] = []
    monkeypatch.setattr(
        runtime, "send", lambda task, kwargs, request_id=None: sent.append((task, kwargs))
    )
    return sent


def make_invitation(runtime: Runtime, tenant: TenantKeys, email: str) -> str:
    made = invitations.create_invitation(
        runtime.unit_of_work(),
        tenant.id,
        actor="test",
        defaults=runtime.settings,
        email=email,
        name="N",
    )
    return made.id


def deliver(runtime: Runtime, tenant: TenantKeys, ids: list[str], holder: str) -> Any:
    """What the send task does, as `holder`."""
    return invitation_delivery.deliver(
        runtime.unit_of_work(),
        runtime.settings,
        runtime.invitation_rates,
        tenant.id,
        ids,
        holder,
    )


def claim(runtime: Runtime, tenant: TenantKeys, invitation_id: str, holder: str) -> Any:
    """The first step of a delivery alone: a task that stopped right after its claim."""
    return invitation_delivery._claim(
        runtime.unit_of_work(), runtime.settings, tenant.id, [invitation_id], holder
    )


def load(runtime: Runtime, invitation_id: str) -> Invitation:
    with runtime.sessions() as session:
        found = session.get(Invitation, invitation_id)
        assert found is not None
        return found


def outcomes(runtime: Runtime, invitation_id: str) -> list[str]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(InvitationDelivery.outcome)
                .where(InvitationDelivery.invitation_id == invitation_id)
                .order_by(InvitationDelivery.id)
            )
        )


def test_a_sent_invitation_is_never_sent_again_by_a_redelivered_task(
    runtime: Runtime, tenant: TenantKeys, inbox: Inbox, held_back: list[Any]
) -> None:
    invitation_id = make_invitation(runtime, tenant, "one@example.com")
    first = deliver(runtime, tenant, [invitation_id], "task:a")
    again = deliver(runtime, tenant, [invitation_id], "task:a")
    other = deliver(runtime, tenant, [invitation_id], "task:b")
    assert (first.sent, again.sent, other.sent) == (1, 0, 0)
    assert len(inbox.to("one@example.com")) == 1
    assert load(runtime, invitation_id).status == "sent"


def test_a_redelivered_task_takes_over_its_own_claim_and_keeps_the_link(
    runtime: Runtime, tenant: TenantKeys, inbox: Inbox, held_back: list[Any]
) -> None:
    invitation_id = make_invitation(runtime, tenant, "lost@example.com")
    # The first run claimed it and was killed before settling.
    [claimed] = claim(runtime, tenant, invitation_id, "task:x").items
    report = deliver(runtime, tenant, [invitation_id], "task:x")
    assert report.sent == 1
    [message] = inbox.to("lost@example.com")
    assert message["Message-ID"] == claimed.message.message_id
    assert Inbox.token(message) in claimed.message.text
    assert outcomes(runtime, invitation_id) == ["reclaimed", "sent"]


def test_an_invitation_another_live_task_holds_is_left_alone_until_its_lease_ends(
    runtime: Runtime, tenant: TenantKeys, inbox: Inbox, held_back: list[Any]
) -> None:
    invitation_id = make_invitation(runtime, tenant, "busy@example.com")
    claim(runtime, tenant, invitation_id, "task:other")
    report = deliver(runtime, tenant, [invitation_id], "task:mine")
    assert report.sent == 0
    assert report.retry_in is not None
    assert report.retry_in > runtime.settings.invitation_send_lease_seconds - 5
    assert inbox.messages == []
    with runtime.unit_of_work() as uow:
        session = uow.session
        session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert deliver(runtime, tenant, [invitation_id], "task:mine").sent == 1
    assert len(inbox.to("busy@example.com")) == 1


def test_a_revoke_while_sending_wins_over_the_settle(
    runtime: Runtime, tenant: TenantKeys, inbox: Inbox, held_back: list[Any]
) -> None:
    invitation_id = make_invitation(runtime, tenant, "race@example.com")
    [claimed] = claim(runtime, tenant, invitation_id, "task:r").items
    invitations.revoke(runtime.unit_of_work(), tenant.id, invitation_id, "admin")
    won = invitation_delivery._settle_sent(runtime.unit_of_work(), claimed, "task:r", 250, "ok")
    assert not won
    assert load(runtime, invitation_id).status == "revoked"
    assert outcomes(runtime, invitation_id) == ["sent"]


def test_the_tenant_rate_limit_defers_the_rest_and_drops_nothing(
    runtime: Runtime, tenant: TenantKeys, inbox: Inbox, held_back: list[Any]
) -> None:
    invitations.update_tenant_settings(
        runtime.unit_of_work(), tenant.id, {"rate_limit_per_minute": 2}, "test", runtime.settings
    )
    ids = [make_invitation(runtime, tenant, f"r{i}@example.com") for i in range(3)]
    report = deliver(runtime, tenant, ids, "task:rl")
    assert report.sent == 2
    assert report.deferred == 1
    assert report.retry_in is not None and 0 < report.retry_in <= 60.1
    statuses = sorted(load(runtime, i).status for i in ids)
    assert statuses == ["pending", "sent", "sent"]
    pending = next(i for i in ids if load(runtime, i).status == "pending")
    assert load(runtime, pending).sending_by is None


def test_what_the_rate_limit_held_back_goes_out_when_the_window_ends(
    runtime: Runtime,
    make_tenant: Callable[[str], TenantKeys],
    inbox: Inbox,
    held_back: list[Any],
) -> None:
    # A one-second window stands in for the minute; the limit is counted in the
    # runtime's Redis, per tenant, so a busy tenant holds back only its own.
    rates = RateLimiter(runtime.redis, runtime.settings.redis_key_prefix, window_seconds=1)
    busy, other = make_tenant("busy"), make_tenant("other")
    invitations.update_tenant_settings(
        runtime.unit_of_work(), busy.id, {"rate_limit_per_minute": 1}, "test", runtime.settings
    )
    busy_ids = [make_invitation(runtime, busy, f"b{i}@example.com") for i in range(2)]
    other_ids = [make_invitation(runtime, other, f"o{i}@example.com") for i in range(2)]

    def send(keys: TenantKeys, ids: list[str]) -> Any:
        return invitation_delivery.deliver(
            runtime.unit_of_work(), runtime.settings, rates, keys.id, ids, "task:w"
        )

    first = send(busy, busy_ids)
    assert (first.sent, first.deferred) == (1, 1)
    assert send(other, other_ids).sent == 2
    time.sleep(first.retry_in)
    assert send(busy, busy_ids).sent == 1
    assert sorted(inbox.recipients()) == sorted(
        ["b0@example.com", "b1@example.com", "o0@example.com", "o1@example.com"]
    )


def test_the_rate_limiter_counts_per_tenant_and_per_window() -> None:
    # A one-second window stands in for the minute, so the test sees one end.
    limiter = RateLimiter(fakeredis.FakeRedis(), "t:", window_seconds=1)
    assert limiter.take("a", 3, 2)[0] == 2
    granted, wait = limiter.take("a", 3, 5)
    assert granted == 1
    assert 0 < wait <= 1.1
    assert limiter.take("a", 3, 1)[0] == 0
    assert limiter.take("b", 3, 3)[0] == 3
    time.sleep(wait)
    assert limiter.take("a", 3, 3)[0] == 3


def test_the_rate_limiter_waits_out_a_minute_by_default() -> None:
    limiter = RateLimiter(fakeredis.FakeRedis(), "t:")
    assert limiter.take("a", 1, 2)[0] == 1
    granted, wait = limiter.take("a", 1, 1)
    assert granted == 0
    assert 59 < wait <= 60.1


# The mailer contract --------------------------------------------------------------


def message(to: str = "someone@example.com") -> OutgoingMessage:
    return OutgoingMessage(
        sender="Rolecall <no-reply@rolecall.test>",
        recipient=to,
        subject="Hello",
        text="Plain body",
        html="<p>HTML body</p>",
        message_id="<contract.1@rolecall.test>",
    )


class ApiServer:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer = 202
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                body["_auth"] = self.headers.get("Authorization")
                body["_key"] = self.headers.get("Idempotency-Key")
                owner.received.append(body)
                self.send_response(owner.answer)
                self.end_headers()
                self.wfile.write(b'{"id": "m-1"}')

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def api_server() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(params=["folder", "smtp", "http"])
def contract(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Mailer, Callable[[], list[str]], Callable[[str], None]]]:
    """(mailer, what arrived as recipients, make an address refused permanently)."""
    if request.param == "folder":
        folder = FolderMailer(tmp_path / "mail")

        def arrived() -> list[str]:
            return [p.read_text().split("To: ", 1)[1].split("\n", 1)[0] for p in folder.messages()]

        def refuse(_: str) -> None:
            pytest.skip("a folder refuses no address")

        yield folder, arrived, refuse
    elif request.param == "smtp":
        box, port = request.getfixturevalue("smtp_server")
        yield SmtpMailer("127.0.0.1", port, timeout=5), box.recipients, box.rejected.add
    else:
        server: ApiServer = request.getfixturevalue("api_server")

        def refuse_all(_: str) -> None:
            server.answer = 422

        yield (
            HttpMailer(server.url, "mail-api-token"),
            lambda: [r["to"] for r in server.received if server.answer < 300],
            refuse_all,
        )


class TestMailerContract:
    def test_a_message_is_delivered_with_a_receipt(self, contract: Any) -> None:
        mailer, arrived, _ = contract
        with mailer.open() as session:
            receipt = session.send(message())
        assert 200 <= receipt.code < 300
        assert arrived() == ["someone@example.com"]

    def test_one_session_serves_many_messages(self, contract: Any) -> None:
        mailer, arrived, _ = contract
        with mailer.open() as session:
            for index in range(3):
                msg = message(f"p{index}@example.com")
                session.send(
                    OutgoingMessage(**{**msg.__dict__, "message_id": f"<c.{index}@rolecall.test>"})
                )
        assert sorted(arrived()) == ["p0@example.com", "p1@example.com", "p2@example.com"]

    def test_a_refused_address_is_a_permanent_error_with_its_code(self, contract: Any) -> None:
        mailer, _, refuse = contract
        refuse("refused@example.com")
        with mailer.open() as session, pytest.raises(PermanentMailError) as raised:
            session.send(message("refused@example.com"))
        assert raised.value.code is not None and 400 <= raised.value.code < 600

    def test_an_unreachable_server_is_transient(self, contract: Any) -> None:
        mailer, _, _ = contract
        if isinstance(mailer, FolderMailer):
            pytest.skip("a folder has no server")
        dead = free_port()
        if isinstance(mailer, SmtpMailer):
            unreachable: Mailer = SmtpMailer("127.0.0.1", dead, timeout=2)
        else:
            unreachable = HttpMailer(f"http://127.0.0.1:{dead}/send", None)
        with unreachable.open() as session, pytest.raises(TransientMailError):
            session.send(message())


def test_the_http_mailer_sends_the_token_and_an_idempotency_key(api_server: ApiServer) -> None:
    with HttpMailer(api_server.url, "secret-api-token").open() as session:
        session.send(message())
    [body] = api_server.received
    assert body["_auth"] == "Bearer secret-api-token"
    assert body["_key"] == "<contract.1@rolecall.test>"
    assert (body["subject"], body["text"], body["html"]) == (
        "Hello",
        "Plain body",
        "<p>HTML body</p>",
    )
    api_server.answer = 503
    with HttpMailer(api_server.url, None).open() as session, pytest.raises(TransientMailError):
        session.send(message())


def test_the_folder_mailer_writes_one_file_per_message_id(tmp_path: Path) -> None:
    folder = FolderMailer(tmp_path / "out")
    with folder.open() as session:
        session.send(message())
        session.send(message())
    [only] = folder.messages()
    assert "Subject: Hello" in only.read_text()
