"""Delivering invitations: the idempotent core of the send and bulk tasks.

The rule that keeps a person from getting two emails for one invitation:

1. Claim. In one committed transaction, under row locks (SELECT ... FOR UPDATE),
   each pending invitation is claimed (`sending`, held by this task: `sending_by` =
   the Celery task id, with a lease) and gets its token nonce.
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

Which invitation may be claimed, taken over, settled or handed back is the
lifecycle aggregate's rule (service.domain.invitations); this module loads the rows,
asks it, and keeps the outcome. Each step is a transaction of its own on the unit of
work it is given (entered once per step), so a step is committed before the next
message goes out: hand `deliver` a unit that is not entered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

import redis
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from service import metrics
from service.cache.rate_limit import RateLimiter
from service.domain import invitations as lifecycle
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
from service.persistence.invitation_models import (
    Invitation,
    InvitationDelivery,
    JobRow,
    lock_lifecycle,
    store_lifecycle,
)
from service.persistence.models import Tenant
from service.persistence.scim_models import ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import invitation_grants, invitations, jobs
from service.settings import Settings

log = logging.getLogger("rolecall.invitations")


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
    where: invitation_grants.GrantNames | None,
) -> OutgoingMessage:
    display = invitation.display_name or (user.display_name if user else "") or invitation.email
    values = {
        "role_name": where.role_name if where else "",
        "scope_name": where.scope_name if where else "",
        "scope_type": where.scope_type if where else "",
        "where": where.where if where else "",
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
    attempt: int,
    outcome: str,
    code: int | None = None,
    detail: str | None = None,
) -> None:
    """Append one line to the invitation's delivery history."""
    session.add(
        InvitationDelivery(
            invitation_id=invitation.id,
            tenant_id=invitation.tenant_id,
            attempt=attempt,
            send_round=invitation.send_round,
            at=utcnow(),
            outcome=outcome,
            smtp_code=code,
            detail=detail[: lifecycle.REASON_LIMIT] if detail else None,
        )
    )


def _claim(
    uow: UnitOfWork,
    settings: Settings,
    tenant_id: str,
    invitation_ids: list[str],
    holder: str,
) -> _Claim:
    """Claim what may be sent now, and render each message (step 1)."""
    claim = _Claim()
    now = utcnow()
    with uow:
        session = uow.session
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
        config = invitations.settings_of(uow, tenant_id, settings)
        rules = invitations.rules(settings, config.ttl_hours)
        claim.rate_limit = config.rate_limit_per_minute
        template = invitations.template_of(uow, tenant_id)
        users = {
            user.id: user
            for user in session.scalars(
                select(ScimUser).where(
                    ScimUser.tenant_id == tenant_id,
                    ScimUser.id.in_([r.user_id for r in rows if r.user_id]),
                )
            )
        }
        grants = {row.id: grant for row in rows if (grant := row.grant()) is not None}
        names = invitation_grants.names_of(uow, tenant_id, grants.values())
        for invitation in rows:
            state = invitation.lifecycle()
            try:
                claimed = state.claim(holder, now, rules, invitations.new_nonce())
            except lifecycle.ClaimHeld as held:
                wait = held.retry_after.total_seconds() + 0.5
                claim.wait = wait if claim.wait is None else min(claim.wait, wait)
                continue
            except lifecycle.IllegalTransition:
                continue  # sent, accepted, revoked ... since the task was queued
            if claimed.reclaimed_from is not None:
                _history(
                    session,
                    invitation,
                    state.attempts - 1,
                    "reclaimed",
                    detail=f"held by {claimed.reclaimed_from}",
                )
            assert state.token_nonce is not None
            token = invitations.derive_token(
                settings.secret_key, state.id, state.send_round, state.token_nonce
            )
            state.token_hash = invitations.hash_token(token)
            invitations.keep(invitation, state)
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
                        names[grants[invitation.id]] if invitation.id in grants else None,
                    ),
                )
            )
    return claim


@contextmanager
def _settling(
    uow: UnitOfWork, item: _Claimed, outcome: str, code: int | None, detail: str | None
) -> Iterator[tuple[Connection, lifecycle.Invitation | None]]:
    """One settle's transaction: the invitation's state under a row lock (None when it
    is gone) after appending the attempt's outcome to its history. Plain statements:
    this runs after every message of a bulk job (see invitation_models)."""
    with uow:
        connection = uow.session.connection()
        state = lock_lifecycle(connection, item.invitation_id)
        if state is not None:
            connection.execute(
                _HISTORY,
                {
                    "invitation_id": item.invitation_id,
                    "tenant_id": item.tenant_id,
                    "attempt": item.attempt,
                    "send_round": item.send_round,
                    "at": utcnow(),
                    "outcome": outcome,
                    "smtp_code": code,
                    "detail": detail[: lifecycle.REASON_LIMIT] if detail else None,
                },
            )
        yield connection, state


_HISTORY = insert(InvitationDelivery.__table__)
_ROWS_SETTLED = (
    update(JobRow.__table__)
    .where(JobRow.invitation_id == bindparam("iid"), JobRow.status == "processing")
    .values(status=bindparam("new_status"), reason=bindparam("new_reason"))
)


def _keep(
    connection: Connection, before: lifecycle.Invitation, after: lifecycle.Invitation
) -> None:
    changed = store_lifecycle(connection, before, after)
    if changed is not None:
        metrics.invitations.labels(changed.value).inc()


def _settle_rows(
    connection: Connection, invitation_id: str, status: str, reason: str | None
) -> None:
    connection.execute(
        _ROWS_SETTLED, {"iid": invitation_id, "new_status": status, "new_reason": reason}
    )


def _settle_sent(uow: UnitOfWork, item: _Claimed, holder: str, code: int, reply: str) -> bool:
    """Record the server's acceptance at once, in one short transaction (step 3).
    False when the claim was lost meanwhile (a revoke wins over the settle)."""
    with _settling(uow, item, "sent", code, reply or None) as (connection, state):
        if state is None:
            return False
        before = replace(state)
        try:
            state.mark_sent(holder, utcnow())
        except lifecycle.ClaimLost as lost:
            if lost.status is lifecycle.REVOKED:
                _settle_rows(
                    connection, item.invitation_id, "failed", "revoked while it was being sent"
                )
            return False
        _keep(connection, before, state)
        _settle_rows(connection, item.invitation_id, "sent", None)
        return True


def _settle_failed(uow: UnitOfWork, item: _Claimed, holder: str, error: PermanentMailError) -> None:
    with _settling(uow, item, "failed", error.code, error.reason) as (connection, state):
        if state is None:
            return
        before = replace(state)
        try:
            state.fail(holder, error.reason, utcnow())
        except lifecycle.ClaimLost:
            return
        _keep(connection, before, state)
        _settle_rows(connection, item.invitation_id, "failed", state.failure_reason)


def _settle_transient(
    uow: UnitOfWork,
    settings: Settings,
    item: _Claimed,
    holder: str,
    error: TransientMailError,
) -> float | None:
    """Back to pending and the seconds to wait, or None when it was given up (failed)."""
    with _settling(uow, item, "deferred", error.code, error.reason) as (connection, state):
        if state is None:
            return None
        before = replace(state)
        # The TTL plays no part in a retry: the round keeps its link and its expiry.
        rules = invitations.rules(settings, settings.invitation_ttl_hours)
        try:
            backoff = state.defer(holder, error.reason, utcnow(), rules)
        except lifecycle.ClaimLost:
            return None
        _keep(connection, before, state)
        if backoff is None:
            _settle_rows(connection, item.invitation_id, "failed", state.failure_reason)
            return None
        return backoff.total_seconds()


def _release(uow: UnitOfWork, items: list[_Claimed], holder: str) -> None:
    """Hand back claimed invitations this task will not send now (not attempted)."""
    if not items:
        return
    now = utcnow()
    with uow:
        rows = uow.session.scalars(
            select(Invitation)
            .where(Invitation.id.in_([item.invitation_id for item in items]))
            .order_by(Invitation.id)
            .with_for_update()
        )
        for invitation in rows:
            state = invitation.lifecycle()
            try:
                state.release(holder, now)
            except lifecycle.ClaimLost:
                continue
            invitations.keep(invitation, state)


def _not_entered(uow: UnitOfWork) -> None:
    try:
        _ = uow.session
    except RuntimeError:
        return
    raise RuntimeError(
        "deliver commits each step before the next message goes out: "
        "hand it a unit of work that is not entered"
    )


def deliver(
    uow: UnitOfWork,
    settings: Settings,
    rates: RateLimiter,
    tenant_id: str,
    invitation_ids: list[str],
    holder: str,
    mail: MailSession | None = None,
) -> DeliveryReport:
    """Send these invitations of one tenant, each at most once (see the module doc)."""
    _not_entered(uow)
    report = DeliveryReport()
    claim = _claim(uow, settings, tenant_id, invitation_ids, holder)
    if claim.wait is not None:
        report.later(claim.wait)
    if not claim.items:
        return report
    try:
        granted, window_ends = rates.take(tenant_id, claim.rate_limit, len(claim.items))
    except redis.RedisError:
        granted, window_ends = 0, settings.invitation_retry_base_seconds
    owned = mail is None
    session = mail or make_mailer(settings).open()
    job_ids = {item.job_id for item in claim.items if item.job_id}
    try:
        for index, item in enumerate(claim.items):
            if index >= granted:
                # Over the tenant's rate: hand the rest back and come again next window.
                _release(uow, claim.items[index:], holder)
                report.deferred += len(claim.items) - index
                report.later(window_ends)
                break
            try:
                receipt = session.send(item.message)
            except PermanentMailError as error:
                _settle_failed(uow, item, holder, error)
                report.failed += 1
                log_event(
                    log, "invitation failed", invitation_id=item.invitation_id, code=error.code
                )
            except TransientMailError as error:
                backoff = _settle_transient(uow, settings, item, holder, error)
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
                    _release(uow, claim.items[index + 1 :], holder)
                    report.deferred += len(claim.items) - index - 1
                    break
            else:
                _settle_sent(uow, item, holder, receipt.code, receipt.reply)
                report.sent += 1
    finally:
        if owned:
            session.close()
    with uow:
        for job_id in job_ids:
            jobs.finish_if_done(uow.session, job_id)
    return report
