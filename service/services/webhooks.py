"""Permission-change webhooks: a tenant registers URLs; every change to a user's
cached permission set is POSTed to each, signed with HMAC-SHA256, and retried with
backoff by the delivery task.

The signing secret is derived from ROLECALL_SECRET_KEY and the webhook's id, shown
once when the webhook is made, and never stored: rotating the service's secret key
therefore rotates every webhook secret (re-create the webhooks to see the new ones).
The signature covers `"{timestamp}.{body}"`, so a receiver can refuse replays.

Where a webhook may point is service.services.webhook_destinations' rule, checked at
registration and at every delivery.

Each endpoint has a breaker. A failed delivery counts against its endpoint, and is
tried again after a delay that doubles with the endpoint's consecutive failures (not
the delivery's own: a dead receiver slows down every delivery to it, not just the
one that found it dead). After ROLECALL_WEBHOOK_BREAKER_THRESHOLD consecutive
failures, or when one delivery has used all its retries, the endpoint is paused.
Deliveries to a paused endpoint are held, not dropped and not sent: one per user,
and when an admin resumes the endpoint each held user's set, as it is then, is
sent. That is what a receiver that keeps a copy of the sets needs (the newest set
of everyone whose set changed), without replaying every intermediate change.
A success clears the failure count.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.domain.errors import Conflict, NotFound, ValidationFailed
from service.observability import log_event
from service.persistence.base import utcnow
from service.persistence.outbox import emit
from service.persistence.unit_of_work import UnitOfWork
from service.persistence.webhook_models import HeldDelivery, Webhook, hold, release
from service.services import change_feed
from service.services.audit import record
from service.services.listing import paginate
from service.services.webhook_destinations import (
    DestinationPolicy,
    DestinationRefused,
    Unresolvable,
    post,
)

DELIVER = "rolecall.webhooks.deliver"
SIGNATURE_HEADER = "X-Rolecall-Signature"
TIMESTAMP_HEADER = "X-Rolecall-Timestamp"
TIMEOUT_SECONDS = 5.0
# A delivery is tried this many times more before its endpoint is paused.
MAX_RETRIES = 8
MAX_BACKOFF_SECONDS = 600.0
SYSTEM_ACTOR = "system:webhook-breaker"

log = logging.getLogger("rolecall.webhooks")


class DeliveryFailed(Exception):
    """The receiver did not take the event; `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: Webhook
    secret: str


@dataclass(frozen=True)
class Breaker:
    """How the breaker of every endpoint behaves (from Settings)."""

    threshold: int
    retry_base_seconds: float

    def backoff(self, consecutive_failures: int) -> float:
        exponent = min(max(consecutive_failures - 1, 0), 30)
        return min(MAX_BACKOFF_SECONDS, self.retry_base_seconds * 2**exponent)


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery; `retry_in` (seconds) when it should be tried again."""

    message: str
    retry_in: float | None = None


@dataclass(frozen=True)
class WebhookView:
    """A webhook as an admin sees it: with its breaker state and held deliveries."""

    webhook: Webhook
    held_deliveries: int


def secret_for(secret_key: str, webhook_id: str) -> str:
    return hmac.new(secret_key.encode(), f"webhook:{webhook_id}".encode(), "sha256").hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def state_of(webhook: Webhook) -> str:
    if webhook.revoked_at is not None:
        return "revoked"
    return "paused" if webhook.paused_at is not None else "active"


def describe(webhook: Webhook, held_deliveries: int = 0) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "description": webhook.description,
        "created_at": webhook.created_at,
        "revoked_at": webhook.revoked_at,
        "state": state_of(webhook),
        "consecutive_failures": webhook.consecutive_failures or 0,
        "paused_at": webhook.paused_at,
        "last_error": webhook.last_error,
        "last_failure_at": webhook.last_failure_at,
        "next_attempt_at": webhook.next_attempt_at,
        "held_deliveries": held_deliveries,
    }


def _audited(webhook: Webhook) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in describe(webhook).items()
    }


def create_webhook(
    uow: UnitOfWork,
    tenant_id: str,
    url: str,
    description: str,
    actor: str,
    secret_key: str,
    policy: DestinationPolicy,
) -> CreatedWebhook:
    try:
        # Before the transaction: resolving a name may take a while.
        policy.check(url)
    except DestinationRefused as refused:
        raise ValidationFailed("invalid_url", str(refused), "url") from None
    with uow:
        session = uow.session
        webhook = Webhook(tenant_id=tenant_id, url=url, description=description)
        session.add(webhook)
        session.flush()
        record(
            session,
            tenant_id,
            actor,
            "webhook.create",
            "webhook",
            webhook.id,
            after=_audited(webhook),
        )
        return CreatedWebhook(webhook, secret_for(secret_key, webhook.id))


def _held_counts(session: Session, webhook_ids: list[str]) -> dict[str, int]:
    if not webhook_ids:
        return {}
    rows = session.execute(
        select(HeldDelivery.webhook_id, func.count())
        .where(HeldDelivery.webhook_id.in_(webhook_ids))
        .group_by(HeldDelivery.webhook_id)
    )
    return {webhook_id: count for webhook_id, count in rows}


def list_webhooks(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int = 1,
    per_page: int = 50,
    revoked: bool | None = None,
    paused: bool | None = None,
) -> tuple[list[WebhookView], int]:
    """One page of the tenant's webhooks, oldest first, and how many match in all."""
    with uow.reading() as session:
        query = select(Webhook).where(Webhook.tenant_id == tenant_id)
        if revoked is not None:
            query = query.where(
                Webhook.revoked_at.is_not(None) if revoked else Webhook.revoked_at.is_(None)
            )
        if paused is not None:
            query = query.where(
                Webhook.paused_at.is_not(None) if paused else Webhook.paused_at.is_(None)
            )
        rows, total = paginate(
            session, query.order_by(Webhook.created_at, Webhook.id), page, per_page
        )
        held = _held_counts(session, [w.id for w in rows])
    return [WebhookView(w, held.get(w.id, 0)) for w in rows], total


def _owned(session: Session, tenant_id: str, webhook_id: str, lock: bool = False) -> Webhook:
    webhook = session.get(Webhook, webhook_id, with_for_update=lock)
    if webhook is None or webhook.tenant_id != tenant_id:
        raise NotFound("not_found", f"No webhook {webhook_id!r}", "id")
    return webhook


def get_webhook(uow: UnitOfWork, tenant_id: str, webhook_id: str) -> WebhookView:
    with uow.reading() as session:
        webhook = _owned(session, tenant_id, webhook_id)
        return WebhookView(webhook, _held_counts(session, [webhook.id]).get(webhook.id, 0))


def resume_webhook(uow: UnitOfWork, tenant_id: str, webhook_id: str, actor: str) -> WebhookView:
    """Close the endpoint's breaker: clear its failures and send every held delivery
    (each with the user's set as it is when it is sent)."""
    with uow:
        session = uow.session
        webhook = _owned(session, tenant_id, webhook_id, lock=True)
        if webhook.revoked_at is not None:
            raise Conflict("revoked", f"Webhook {webhook_id!r} is revoked", "id")
        before = _audited(webhook)
        released = release(session, webhook.id)
        for user_id in released:
            emit(session, tenant_id, DELIVER, f"{webhook.id}:{user_id}")
        webhook.paused_at = None
        webhook.consecutive_failures = 0
        webhook.next_attempt_at = None
        record(
            session,
            tenant_id,
            actor,
            "webhook.resume",
            "webhook",
            webhook.id,
            before=before,
            after={**_audited(webhook), "released_deliveries": len(released)},
        )
        return WebhookView(webhook, 0)


def revoke_webhook(uow: UnitOfWork, tenant_id: str, webhook_id: str, actor: str) -> None:
    with uow:
        session = uow.session
        webhook = session.get(Webhook, webhook_id)
        if webhook is None or webhook.tenant_id != tenant_id:
            raise NotFound("not_found", f"No webhook {webhook_id!r}", "id")
        if webhook.revoked_at is None:
            before = _audited(webhook)
            webhook.revoked_at = utcnow()
            release(session, webhook.id)  # a revoked webhook is sent nothing
            record(
                session,
                tenant_id,
                actor,
                "webhook.revoke",
                "webhook",
                webhook.id,
                before=before,
                after=_audited(webhook),
            )


def changes_recorded(session: Session, tenant_id: str, user_ids: Iterable[str]) -> int:
    """Record a delivery for each active webhook and each changed user; returns how many.

    Deliveries coalesce per (webhook, user) while pending, and each sends the set
    cached when it runs, so a burst of changes sends the newest set once. To a paused
    webhook they are held instead, so a dead endpoint costs its tenant's recompute
    storm one row per user, not a queue of tasks."""
    ids = list(user_ids)
    if not ids:
        return 0
    hooks = session.execute(
        select(Webhook.id, Webhook.paused_at).where(
            Webhook.tenant_id == tenant_id, Webhook.revoked_at.is_(None)
        )
    ).all()
    paused = [hook_id for hook_id, paused_at in hooks if paused_at is not None]
    if paused:
        # Read again under a shared lock: a resume commits either before (and this sees
        # the endpoint active) or after this transaction (and releases what it holds).
        paused = list(
            session.scalars(
                select(Webhook.id)
                .where(Webhook.id.in_(paused), Webhook.paused_at.is_not(None))
                .with_for_update(read=True)
            )
        )
    for hook_id, _ in hooks:
        if hook_id in paused:
            hold(session, tenant_id, hook_id, ids)
            continue
        for user_id in ids:
            emit(session, tenant_id, DELIVER, f"{hook_id}:{user_id}")
    return len(hooks) * len(ids)


def _held_if_paused(uow: UnitOfWork, tenant_id: str, webhook_id: str, user_id: str) -> bool:
    """Hold the delivery if its endpoint is paused (under a lock, so a resume cannot
    slip between the look and the hold)."""
    with uow:
        webhook = uow.session.get(Webhook, webhook_id, with_for_update=True)
        if webhook is None or webhook.paused_at is None:
            return False
        hold(uow.session, tenant_id, webhook_id, [user_id])
        return True


def _failed(
    uow: UnitOfWork,
    tenant_id: str,
    webhook_id: str,
    user_id: str,
    failure: DeliveryFailed,
    breaker: Breaker,
    attempt: int,
) -> Outcome:
    """Count a failure against the endpoint: retry after its backoff, or pause it and
    hold the delivery, or (a failure retrying cannot mend) give this delivery up."""
    now = utcnow()
    with uow:
        session = uow.session
        webhook = session.get(Webhook, webhook_id, with_for_update=True)
        if webhook is None or webhook.revoked_at is not None:
            return Outcome("skipped: webhook revoked")
        webhook.consecutive_failures = (webhook.consecutive_failures or 0) + 1
        webhook.last_error = str(failure)[:500]
        webhook.last_failure_at = now
        exhausted = failure.retry and attempt >= MAX_RETRIES
        if webhook.paused_at is None and (
            webhook.consecutive_failures >= breaker.threshold or exhausted
        ):
            before = _audited(webhook)
            webhook.paused_at = now
            record(
                session,
                tenant_id,
                SYSTEM_ACTOR,
                "webhook.pause",
                "webhook",
                webhook.id,
                before=before,
                after=_audited(webhook),
            )
        if webhook.paused_at is not None:
            webhook.next_attempt_at = None
            hold(session, tenant_id, webhook.id, [user_id])
            return Outcome(f"held: endpoint paused ({failure})")
        if not failure.retry:
            webhook.next_attempt_at = None
            return Outcome(f"failed: {failure}")
        delay = breaker.backoff(webhook.consecutive_failures)
        webhook.next_attempt_at = now + timedelta(seconds=delay)
        return Outcome(f"retrying in {delay:g}s: {failure}", retry_in=delay)


def _succeeded(uow: UnitOfWork, webhook_id: str) -> None:
    with uow:
        uow.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook_id, Webhook.consecutive_failures > 0)
            .values(consecutive_failures=0, next_attempt_at=None)
        )


def deliver(
    uow_factory: Callable[[], UnitOfWork],
    secret_key: str,
    tenant_id: str,
    object_id: str,
    policy: DestinationPolicy,
    breaker: Breaker,
    attempt: int = 0,
) -> Outcome:
    """POST the user's current set (the change feed's head) to one webhook, signed with the secret
    derived from `secret_key`, to an address `policy` allows. `attempt` counts the
    tries of this delivery before this one."""
    webhook_id, _, user_id = object_id.partition(":")
    with uow_factory().reading() as session:
        webhook = session.get(Webhook, webhook_id)
        # The set last recorded in the change feed: committed before the cache is written.
        permissions = change_feed.head_of(session, tenant_id, user_id)
    if webhook is None or webhook.revoked_at is not None or webhook.tenant_id != tenant_id:
        return Outcome("skipped: webhook revoked")
    if webhook.paused_at is not None and _held_if_paused(
        uow_factory(), tenant_id, webhook_id, user_id
    ):
        return Outcome("held: endpoint paused")
    try:
        status = _post(webhook, tenant_id, user_id, permissions, secret_key, policy)
    except DeliveryFailed as failure:
        log_event(log, "webhook delivery failed", webhook_id=webhook.id, error=str(failure))
        return _failed(uow_factory(), tenant_id, webhook.id, user_id, failure, breaker, attempt)
    if status is None:
        return Outcome("skipped: no recorded set (the next change will be sent)")
    if webhook.consecutive_failures:
        _succeeded(uow_factory(), webhook.id)
    return Outcome(f"delivered: HTTP {status}")


def _post(
    webhook: Webhook,
    tenant_id: str,
    user_id: str,
    permissions: dict[str, Any] | None,
    secret_key: str,
    policy: DestinationPolicy,
) -> int | None:
    """Send one event; its HTTP status (None: no set to send). Raises DeliveryFailed."""
    try:
        destination = policy.check(webhook.url)
    except Unresolvable as unresolvable:
        raise DeliveryFailed(str(unresolvable), retry=True) from None
    except DestinationRefused as refused:
        raise DeliveryFailed(f"refused: {refused}", retry=False) from None
    if permissions is None:
        return None
    event = {
        "event": "permissions.changed",
        "tenant_id": tenant_id,
        "user_id": user_id,
        "version": permissions.get("version"),
        "permissions": permissions,
    }
    body = json.dumps(event, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "rolecall-webhooks",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret_for(secret_key, webhook.id), timestamp, body),
    }
    try:
        response = post(destination, body, headers, TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise DeliveryFailed(f"{type(error).__name__}", retry=True) from error
    status = response.status_code
    if 300 <= status < 400:
        # Never followed: the Location could name any address.
        raise DeliveryFailed(f"HTTP {status}: redirects are not followed", retry=False)
    if status >= 500 or status in (408, 429):
        raise DeliveryFailed(f"HTTP {status}", retry=True)
    if status >= 400:
        raise DeliveryFailed(f"HTTP {status}", retry=False)
    log_event(log, "webhook delivered", webhook_id=webhook.id, user_id=user_id, status=status)
    return status
