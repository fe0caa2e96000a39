"""Delivering invitations: the idempotent core of the send and bulk tasks.

The rule that keeps a person from getting two emails for one invitation:

1. Claim. In one committed transaction, under row locks (SELECT ... FOR UPDATE),
   each pending invitation becomes `sending`, held by this task (`sending_by` = the
   Celery task id) with a lease, and gets its token nonce.
2. Send, outside any transaction.
3. Settle. Right after the server's 250 (or an API's 2xx), one small transaction
   marks the invitation `sent` and appends the delivery row, before the task is
   acknowledged. A 4xx or a lost connection puts it back to pending (retried with
   backoff, given up after ROLECALL_INVITATION_MAX_ATTEMPTS); a 5xx marks it failed.

A task that runs again (Celery redelivers an unacknowledged task to another
worker when its worker dies) finds `sent` rows and skips them. It finds `sending`
rows only where a worker stopped between claim and settle:
- held by its own task id: that earlier run of the same task is dead (Celery hands
  a task to one worker at a time), so it sends them now;
- held by another task whose lease has not run out: that task may be sending right
  now, so this one waits for the lease (it retries later) and never sends it too;
- held by another task whose lease ran out: sends them now.
Such a row is sent again with the same Message-ID and the same link (the token is
derived from the stored nonce), and the history records a `reclaimed` attempt.

What remains: a worker killed after the server's 250 and before the settle commit
(one UPDATE and a COMMIT, about a millisecond) leaves a message the server took
but `sending` in the database; that one message is sent a second time, identical
(same Message-ID, same link). No ordering of commits can close that window, since
the mail server and the database do not share a transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import metrics
from service.mail import (
    MailSession,
    OutgoingMessage,
    PermanentMailError,
    TransientMailError,
    make_mailer,
)
from service.mail import template as templates
from service.observability import log_event
from service.persistence.base import utcnow
from service.persistence.db import transaction
from service.persistence.invitation_models import Invitation, InvitationDelivery, JobRow
from service.persistence.models import Tenant
from service.persistence.scim_models import ScimUser
from service.runtime import Runtime
from service.services import invitations, jobs
from service.settings import Settings

log = logging.getLogger("rolecall.invitations")

MAX_BACKOFF_SECONDS = 900.0


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    # Seconds until this task should run again (a lease, a rate limit, a transient error).
    retry_in: float | None = None

    def later(self, seconds: float) -> None:
        self.retry_in = seconds if self.retry_in is None else min(self.retry_in, seconds)


@dataclass
class _Claimed:
    invitation_id: str
    tenant_id: str
    job_id: str | None
    attempt: int
    send_round: int
    message: OutgoingMessage


@dataclass
class _Claim:
    items: list[_Claimed] = field(default_factory=list)
    wait: float | None = None
    rate_limit: int = 0


def _domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] if "@" in address else "rolecall.invalid"


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _message(
    invitation: Invitation,
    user: ScimUser | None,
    tenant_name: str,
    template: templates.InvitationTemplate,
    token: str,
    settings: Settings,
) -> OutgoingMessage:
    display = invitation.display_name or (user.display_name if user else "") or invitation.email
    values = {
        "user_name": user.user_name if user else invitation.email,
        "display_name": display,
        "given_name": (user.given_name if user else None) or display.split()[0],
        "inviter": invitation.inviter_name or invitations.DEFAULT_INVITER,
        "accept_url": f"{settings.public_base_url}/invitations/{token}",
        "tenant_name": tenant_name,
        "expires_at": _when(invitation.expires_at),
    }
    rendered = templates.render(template, values)
    return OutgoingMessage(
        sender=settings.mail_from,
        recipient=invitation.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=invitations.message_id(invitation, _domain(settings.mail_from)),
        headers={"X-Rolecall-Invitation": invitation.id},
    )


def _history(
    session: Session,
    invitation: Invitation,
    outcome: str,
    code: int | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        InvitationDelivery(
            invitation_id=invitation.id,
            tenant_id=invitation.tenant_id,
            attempt=invitation.attempts,
            send_round=invitation.send_round,
            at=utcnow(),
            outcome=outcome,
            smtp_code=code,
            detail=detail[:2000] if detail else None,
        )
    )


def _claim(
    sessions: sessionmaker[Session],
    settings: Settings,
    tenant_id: str,
    invitation_ids: list[str],
    holder: str,
) -> _Claim:
    claim = _Claim()
    now = utcnow()
    with transaction(sessions) as session:
        rows = list(
            session.scalars(
                select(Invitation)
                .where(Invitation.tenant_id == tenant_id, Invitation.id.in_(invitation_ids))
                .order_by(Invitation.id)
                .with_for_update()
            )
        )
        if not rows:
            return claim
        tenant = session.get(Tenant, tenant_id)
        tenant_name = tenant.name if tenant else ""
        config = invitations.tenant_settings(session, tenant_id, settings)
        claim.rate_limit = config.rate_limit_per_minute
        template = invitations.get_template(session, tenant_id)
        users = {
            user.id: user
            for user in session.scalars(
                select(ScimUser).where(
                    ScimUser.tenant_id == tenant_id,
                    ScimUser.id.in_([r.user_id for r in rows if r.user_id]),
                )
            )
        }
        for invitation in rows:
            if invitation.status == "sending":
                lease = invitation.lease_until
                if invitation.sending_by != holder and lease is not None and lease > now:
                    claim.wait = min(claim.wait or 1e9, (lease - now).total_seconds() + 0.5)
                    continue
                _history(
                    session, invitation, "reclaimed", detail=f"held by {invitation.sending_by}"
                )
            elif invitation.status != "pending":
                continue
            if invitation.token_nonce is None:
                # A new round: a new link, valid for the tenant's TTL from now.
                invitation.token_nonce = invitations.new_nonce()
                invitation.expires_at = now + timedelta(hours=config.ttl_hours)
            token = invitations.derive_token(
                settings.secret_key, invitation.id, invitation.send_round, invitation.token_nonce
            )
            invitation.token_hash = invitations.hash_token(token)
            invitation.status = "sending"
            invitation.sending_by = holder
            invitation.lease_until = now + timedelta(seconds=settings.invitation_send_lease_seconds)
            invitation.attempts += 1
            invitation.updated_at = now
            claim.items.append(
                _Claimed(
                    invitation.id,
                    invitation.tenant_id,
                    invitation.job_id,
                    invitation.attempts,
                    invitation.send_round,
                    _message(
                        invitation,
                        users.get(invitation.user_id or ""),
                        tenant_name,
                        template,
                        token,
                        settings,
                    ),
                )
            )
    if claim.items:
        metrics.invitations.labels("sending").inc(len(claim.items))
    return claim


def _settle_rows(session: Session, invitation_id: str, status: str, reason: str | None) -> None:
    session.connection().execute(
        _ROWS_SETTLED, {"iid": invitation_id, "new_status": status, "new_reason": reason}
    )


# Built once: the settle after each 250 is the hot path of a bulk job.
_INVITATIONS = Invitation.__table__
_ROWS_SETTLED = (
    update(JobRow.__table__)
    .where(JobRow.invitation_id == bindparam("iid"), JobRow.status == "processing")
    .values(status=bindparam("new_status"), reason=bindparam("new_reason"))
)
_SENT = (
    update(_INVITATIONS)
    .where(
        _INVITATIONS.c.id == bindparam("iid"),
        _INVITATIONS.c.status == "sending",
        _INVITATIONS.c.sending_by == bindparam("holder"),
    )
    .values(
        status="sent",
        sent_at=bindparam("now"),
        sending_by=None,
        lease_until=None,
        updated_at=bindparam("now"),
    )
)
_HISTORY = insert(InvitationDelivery.__table__)


def _settle_sent(
    sessions: sessionmaker[Session], item: _Claimed, holder: str, code: int, reply: str
) -> None:
    """Record the server's acceptance at once: plain statements, one short transaction."""
    now = utcnow()
    with transaction(sessions) as session:
        connection = session.connection()
        won = connection.execute(
            _SENT, {"iid": item.invitation_id, "holder": holder, "now": now}
        ).rowcount
        connection.execute(
            _HISTORY,
            {
                "invitation_id": item.invitation_id,
                "tenant_id": item.tenant_id,
                "attempt": item.attempt,
                "send_round": item.send_round,
                "at": now,
                "outcome": "sent",
                "smtp_code": code,
                "detail": reply[:2000] or None,
            },
        )
        if won:
            _settle_rows(session, item.invitation_id, "sent", None)
        elif (
            connection.execute(
                select(_INVITATIONS.c.status).where(_INVITATIONS.c.id == item.invitation_id)
            ).scalar()
            == "revoked"
        ):
            _settle_rows(session, item.invitation_id, "failed", "revoked while it was being sent")
    if won:
        metrics.invitations.labels("sent").inc()


def _settle_failed(
    sessions: sessionmaker[Session], item: _Claimed, holder: str, error: PermanentMailError
) -> None:
    with transaction(sessions) as session:
        invitation = session.get(Invitation, item.invitation_id, with_for_update=True)
        if invitation is None:
            return
        _history(session, invitation, "failed", error.code, error.reason)
        if invitation.status == "sending" and invitation.sending_by == holder:
            invitations._set_status(invitation, "failed", error.reason)
            _settle_rows(session, invitation.id, "failed", error.reason)


def _settle_transient(
    sessions: sessionmaker[Session],
    settings: Settings,
    item: _Claimed,
    holder: str,
    error: TransientMailError,
) -> float | None:
    """Back to pending and the seconds to wait, or None when it was given up (failed)."""
    with transaction(sessions) as session:
        invitation = session.get(Invitation, item.invitation_id, with_for_update=True)
        if invitation is None:
            return None
        _history(session, invitation, "deferred", error.code, error.reason)
        if invitation.status != "sending" or invitation.sending_by != holder:
            return None
        invitation.transient_failures += 1
        if invitation.transient_failures >= settings.invitation_max_attempts:
            reason = f"gave up after {invitation.transient_failures} attempts: {error.reason}"
            invitations._set_status(invitation, "failed", reason)
            _settle_rows(session, invitation.id, "failed", reason)
            return None
        invitations._set_status(invitation, "pending")
        invitation.failure_reason = error.reason
        exponent = invitation.transient_failures - 1
    return min(settings.invitation_retry_base_seconds * (2**exponent), MAX_BACKOFF_SECONDS)


def _release(sessions: sessionmaker[Session], items: list[_Claimed], holder: str) -> None:
    """Hand back claimed invitations this task will not send now (not attempted)."""
    if not items:
        return
    with transaction(sessions) as session:
        session.execute(
            update(Invitation)
            .where(
                Invitation.id.in_([item.invitation_id for item in items]),
                Invitation.status == "sending",
                Invitation.sending_by == holder,
            )
            .values(
                status="pending",
                sending_by=None,
                lease_until=None,
                attempts=Invitation.attempts - 1,
            )
        )


class RateLimiter:
    """A fixed window per tenant and minute in Redis (real or fake): INCR, and EXPIRE
    so old windows vanish. Over the limit, the caller waits for the next window."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def take(self, tenant_id: str, limit: int, now: float, wanted: int) -> tuple[int, float]:
        """How many of `wanted` messages may go now, and the seconds until more may."""
        window = int(now // 60)
        key = f"{self.prefix}invitations:rate:{tenant_id}:{window}"
        pipe = self.client.pipeline()
        pipe.incrby(key, wanted)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
        granted = max(0, min(wanted, limit - (int(count) - wanted)))
        if granted < wanted:
            self.client.decrby(key, wanted - granted)
        return granted, (window + 1) * 60 - now + 0.05


def deliver(
    runtime: Runtime,
    tenant_id: str,
    invitation_ids: list[str],
    holder: str,
    mail: MailSession | None = None,
) -> DeliveryReport:
    """Send these invitations of one tenant, each at most once (see the module doc)."""
    import time

    settings = runtime.settings
    report = DeliveryReport()
    claim = _claim(runtime.sessions, settings, tenant_id, invitation_ids, holder)
    if claim.wait is not None:
        report.later(claim.wait)
    if not claim.items:
        return report
    limiter = RateLimiter(runtime.redis, settings.redis_key_prefix)
    try:
        granted, window_ends = limiter.take(
            tenant_id, claim.rate_limit, time.time(), len(claim.items)
        )
    except redis.RedisError:
        granted, window_ends = 0, settings.invitation_retry_base_seconds
    owned = mail is None
    session = mail or make_mailer(settings).open()
    job_ids = {item.job_id for item in claim.items if item.job_id}
    try:
        for index, item in enumerate(claim.items):
            if index >= granted:
                # Over the tenant's rate: hand the rest back and come again next window.
                _release(runtime.sessions, claim.items[index:], holder)
                report.deferred += len(claim.items) - index
                report.later(window_ends)
                break
            try:
                receipt = session.send(item.message)
            except PermanentMailError as error:
                _settle_failed(runtime.sessions, item, holder, error)
                report.failed += 1
                log_event(
                    log, "invitation failed", invitation_id=item.invitation_id, code=error.code
                )
            except TransientMailError as error:
                backoff = _settle_transient(runtime.sessions, settings, item, holder, error)
                log_event(
                    log, "invitation deferred", invitation_id=item.invitation_id, code=error.code
                )
                if backoff is None:
                    report.failed += 1
                    continue
                report.deferred += 1
                report.later(backoff)
                if error.code is None:
                    # The connection itself failed: the rest would fail the same way.
                    _release(runtime.sessions, claim.items[index + 1 :], holder)
                    report.deferred += len(claim.items) - index - 1
                    break
            else:
                _settle_sent(runtime.sessions, item, holder, receipt.code, receipt.reply)
                report.sent += 1
    finally:
        if owned:
            session.close()
    with transaction(runtime.sessions) as db:
        for job_id in job_ids:
            jobs.finish_if_done(db, job_id)
    return report
