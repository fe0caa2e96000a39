"""Permission-change webhooks: each one a consumer of its tenant's change feed
(service.services.change_feed), so a webhook and `GET /api/v1/changes` say the same
thing in the same order.

A webhook keeps a cursor in the feed, set at creation to the feed's end (it is told of
changes from then on). Whenever the feed records changes, each active webhook of the
tenant gets a delivery run (one outbox row per webhook, coalesced: a burst of changes
costs one queued run). A run POSTs every change after the cursor, in order, one POST
per change, and moves the cursor past each one the receiver took. Delivery is at least
once: a run that dies between a POST and moving the cursor sends that change again,
so a receiver applies a set only when its version is newer than the one it holds
(each change carries the feed's `cursor` too). Scope-tree changes are passed over.

One run at a time per webhook (a Redis lock): a run that finds another one going is
retried shortly, so a change recorded while that one finishes is not left behind. A
run that has sent for a while (RunBudget) queues the next and returns, so one
endpoint never holds a worker for long.

If the cursor has fallen behind the feed's retained window (an endpoint paused for
longer than the window), the run sends every current set from a snapshot instead
(event `permissions.snapshot`, each with the snapshot's feed cursor), a page at a
time, then goes on with the feed from that cursor.

The signing secret is derived from ROLECALL_SECRET_KEY and the webhook's id, shown
once when the webhook is made, and never stored: rotating the service's secret key
therefore rotates every webhook secret (re-create the webhooks to see the new ones).
The signature covers `"{timestamp}.{body}"`, so a receiver can refuse replays.

Where a webhook may point is service.services.webhook_destinations' rule, checked at
registration and at the start of every run (each run connects to the address it
checked, so a name rebound during the run cannot take it elsewhere).

Each endpoint has a breaker. A failed POST stops the run and counts against the
endpoint; the change is tried again after a delay that doubles with the endpoint's
consecutive failures (a run triggered meanwhile waits for it). A failure retrying
cannot mend (a 4xx, a redirect, a refused address) is not retried by the run: the
next change, or a resume, tries again from the same change, never skipping it. After
ROLECALL_WEBHOOK_BREAKER_THRESHOLD consecutive failures, or when one change has used
MAX_RETRIES retries, the endpoint is paused and sent nothing; what it has not been
sent is the feed after its cursor, and when an admin resumes it the run goes on from
there. A success clears the failure count.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from redis.exceptions import LockError
from redis.lock import Lock
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.domain.errors import Conflict, NotFound, ValidationFailed
from service.observability import log_event
from service.persistence.base import utcnow
from service.persistence.feed_models import FeedSequence
from service.persistence.outbox import emit
from service.persistence.unit_of_work import UnitOfWork
from service.persistence.webhook_models import Webhook, advance, snapshot_sent
from service.runtime import Runtime
from service.services import change_feed, propagation, relay
from service.services.audit import record
from service.services.listing import paginate
from service.services.webhook_destinations import (
    Destination,
    DestinationPolicy,
    DestinationRefused,
    Unresolvable,
    post,
)

DELIVER = propagation.DELIVER_WEBHOOK
CHANGED_EVENT = "permissions.changed"
SNAPSHOT_EVENT = "permissions.snapshot"
SIGNATURE_HEADER = "X-Rolecall-Signature"
TIMESTAMP_HEADER = "X-Rolecall-Timestamp"
TIMEOUT_SECONDS = 5.0
# A change is tried this many times more before its endpoint is paused.
MAX_RETRIES = 8
MAX_BACKOFF_SECONDS = 600.0
SYSTEM_ACTOR = "system:webhook-breaker"
# Changes (or snapshot sets) read per look at the feed.
FEED_PAGE = 100
SNAPSHOT_PAGE = 100
# A run that finds another one going is tried again this much later.
BUSY_RETRY_SECONDS = 2.0
# The run lock expires after this long, so a worker that died holding it blocks its
# endpoint no longer. Well above a run's length: its budget plus one POST's timeouts.
LOCK_SECONDS = 120

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
class RunBudget:
    """How long one run sends before it queues the next and gives its worker back."""

    seconds: float = 30.0
    changes: int = 1000


@dataclass(frozen=True)
class Outcome:
    """What became of one run. `retry_in` (seconds): run again then, with `attempt`
    (the tries of the change at the cursor so far). `waiting`: the endpoint's backoff
    has not passed; the failed run's own retry is due then. `more`: the run used its
    budget and queued the next one."""

    message: str
    retry_in: float | None = None
    attempt: int = 0
    sent: int = 0
    waiting: bool = False
    more: bool = False


@dataclass(frozen=True)
class WebhookView:
    """A webhook as an admin sees it: with its breaker state and what it is still to be
    sent (at most `held_deliveries` changes: scope-tree changes are counted, not sent)."""

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
        "feed_cursor": str(webhook.feed_cursor or 0),
        "held_deliveries": held_deliveries,
    }


def _audited(webhook: Webhook, held_deliveries: int = 0) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in describe(webhook, held_deliveries).items()
    }


def _held(feed_end: int, webhook: Webhook) -> int:
    """At most how many changes the webhook is still to be sent (a revoked one: none)."""
    if webhook.revoked_at is not None:
        return 0
    return max(0, feed_end - (webhook.feed_cursor or 0))


# -- admin -----------------------------------------------------------------------------


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
        webhook = Webhook(
            tenant_id=tenant_id,
            url=url,
            description=description,
            feed_cursor=_feed_end_for_new_webhook(session, tenant_id),
        )
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


def _feed_end_for_new_webhook(session: Session, tenant_id: str) -> int:
    """The tenant's feed end (change_feed.end_of), read under a share lock on its
    counter: a recording that has taken numbers is waited for (and its changes are
    before the new webhook's cursor), and one that takes numbers after this waits for
    this transaction, so it sees the new webhook and queues its run. Either way no
    change lands after the cursor with no run to send it."""
    last = session.scalar(
        select(FeedSequence.last_seq)
        .where(FeedSequence.tenant_id == tenant_id)
        .with_for_update(read=True)
    )
    return int(last or 0)


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
        end = change_feed.end_of(session, tenant_id)
    return [WebhookView(w, _held(end, w)) for w in rows], total


def _owned(session: Session, tenant_id: str, webhook_id: str, lock: bool = False) -> Webhook:
    webhook = session.get(Webhook, webhook_id, with_for_update=lock)
    if webhook is None or webhook.tenant_id != tenant_id:
        raise NotFound("not_found", f"No webhook {webhook_id!r}", "id")
    return webhook


def get_webhook(uow: UnitOfWork, tenant_id: str, webhook_id: str) -> WebhookView:
    with uow.reading() as session:
        webhook = _owned(session, tenant_id, webhook_id)
        return WebhookView(webhook, _held(change_feed.end_of(session, tenant_id), webhook))


def resume_webhook(uow: UnitOfWork, tenant_id: str, webhook_id: str, actor: str) -> WebhookView:
    """Close the endpoint's breaker: clear its failures and queue a run, which goes on
    from the webhook's cursor (what it shows as held is what that run will send)."""
    with uow:
        session = uow.session
        webhook = _owned(session, tenant_id, webhook_id, lock=True)
        if webhook.revoked_at is not None:
            raise Conflict("revoked", f"Webhook {webhook_id!r} is revoked", "id")
        held = _held(change_feed.end_of(session, tenant_id), webhook)
        before = _audited(webhook, held)
        webhook.paused_at = None
        webhook.consecutive_failures = 0
        webhook.next_attempt_at = None
        emit(session, tenant_id, DELIVER, webhook.id)
        record(
            session,
            tenant_id,
            actor,
            "webhook.resume",
            "webhook",
            webhook.id,
            before=before,
            after=_audited(webhook, held),
        )
        return WebhookView(webhook, held)


def revoke_webhook(uow: UnitOfWork, tenant_id: str, webhook_id: str, actor: str) -> None:
    """Revoke a webhook: it is sent nothing more (a run going stops at its next page)."""
    with uow:
        session = uow.session
        webhook = _owned(session, tenant_id, webhook_id)
        if webhook.revoked_at is None:
            before = _audited(webhook)
            webhook.revoked_at = utcnow()
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


# -- the feed moved ---------------------------------------------------------------------


def feed_moved(session: Session, tenant_id: str) -> int:
    """The tenant's feed recorded changes (in this transaction): queue a run for each
    active webhook of the tenant; returns how many. Runs coalesce per webhook while
    queued, and each sends everything after its cursor, so a burst costs one run.
    A paused webhook gets none: resuming it queues one."""
    hooks = session.execute(
        select(Webhook.id, Webhook.paused_at).where(
            Webhook.tenant_id == tenant_id, Webhook.revoked_at.is_(None)
        )
    ).all()
    paused = {hook_id for hook_id, paused_at in hooks if paused_at is not None}
    if paused:
        # Read again under a share lock: a resume commits either before this (and this
        # sees the endpoint active) or after this transaction (and its run, queued by
        # the resume, reads the changes this one recorded).
        paused = set(
            session.scalars(
                select(Webhook.id)
                .where(Webhook.id.in_(paused), Webhook.paused_at.is_not(None))
                .with_for_update(read=True)
            )
        )
    active = [hook_id for hook_id, _ in hooks if hook_id not in paused]
    for hook_id in active:
        emit(session, tenant_id, DELIVER, hook_id)
    return len(active)


# -- a delivery run ---------------------------------------------------------------------


def run_lock(runtime: Runtime, webhook_id: str) -> Lock:
    """The lock a webhook's run holds: one run at a time per webhook."""
    name = f"{runtime.settings.redis_key_prefix}webhook-run:{webhook_id}"
    return runtime.redis.lock(name, timeout=LOCK_SECONDS, blocking=False)


def deliver(
    runtime: Runtime,
    tenant_id: str,
    webhook_id: str,
    policy: DestinationPolicy,
    breaker: Breaker,
    attempt: int = 0,
    budget: RunBudget | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """One delivery run for a webhook: send what the feed holds after its cursor, in
    order, to an address `policy` allows, with its endpoint's `breaker`. `attempt`
    counts the tries of the change at the cursor before this run."""
    lock = run_lock(runtime, webhook_id)
    if not lock.acquire():
        return Outcome(
            "busy: another run is delivering to this endpoint",
            retry_in=BUSY_RETRY_SECONDS,
            attempt=attempt,
        )
    try:
        run = _Run(runtime, tenant_id, webhook_id, policy, breaker, budget or RunBudget(), clock)
        outcome = run.start(attempt)
    finally:
        try:
            lock.release()
        except LockError:
            # It expired: this run outlived LOCK_SECONDS and another may have started.
            log_event(log, "webhook run outlived its lock", webhook_id=webhook_id)
    if outcome.more:
        # Queued through the outbox, like any run: a broker outage delays it, no more.
        with runtime.unit_of_work() as uow:
            uow.emit(tenant_id, DELIVER, webhook_id)
    log_event(log, "webhook run", webhook_id=webhook_id, sent=outcome.sent, outcome=outcome.message)
    return outcome


@dataclass
class _Batch:
    """What one look at the feed gave to send: (cursor, body) in order, a body of None
    for a change that is passed over; `snapshot`, when these are a snapshot's sets."""

    items: list[tuple[int, bytes | None]]
    snapshot: change_feed.SnapshotPage | None = None


def _body(tenant_id: str, event: str, head: str, cursor: int | None = None) -> bytes:
    """The event: its name and tenant, then `head` (a change or a snapshot set, the JSON
    object the feed serves) spliced in as it is, so both say the same thing."""
    prefix: dict[str, str] = {"event": event, "tenant_id": tenant_id}
    if cursor is not None:
        prefix["cursor"] = str(cursor)
    text = json.dumps(prefix, separators=(",", ":"))
    return f"{text[:-1]},{head[1:]}".encode()


@dataclass
class _Run:
    """One delivery run, holding its webhook's lock: pages of the feed (or of a
    snapshot) sent in order until there is nothing more, the breaker stops it, or its
    budget is spent."""

    runtime: Runtime
    tenant_id: str
    webhook_id: str
    policy: DestinationPolicy
    breaker: Breaker
    budget: RunBudget
    clock: Callable[[], float]
    sent: int = 0
    started_at: float = 0.0

    def start(self, attempt: int) -> Outcome:
        webhook = self._webhook()
        if isinstance(webhook, Outcome):
            self._started()
            return webhook
        now = utcnow()
        if webhook.next_attempt_at is not None and webhook.next_attempt_at > now:
            # A failed run's retry is due then; it will send what this one would. The
            # queued flag stays, so changes meanwhile queue no more runs.
            wait = (webhook.next_attempt_at - now).total_seconds()
            return Outcome(
                f"waiting: the endpoint's next attempt is in {wait:.3g}s",
                retry_in=wait,
                attempt=attempt,
                waiting=True,
            )
        self._started()
        self.started_at = self.clock()
        try:
            destination = self.policy.check(webhook.url)
        except Unresolvable as unresolvable:
            return self._failed(DeliveryFailed(str(unresolvable), retry=True), attempt)
        except DestinationRefused as refused:
            return self._failed(DeliveryFailed(f"refused: {refused}", retry=False), attempt)
        secret = secret_for(self.runtime.settings.secret_key, webhook.id)
        return self._send(destination, secret, attempt)

    def _started(self) -> None:
        # Before the feed is read: a change recorded from now on queues a run of its own
        # (which waits for this one's lock), so none is left behind.
        relay.started(self.runtime, DELIVER, self.tenant_id, self.webhook_id)

    def _webhook(self) -> Webhook | Outcome:
        with self.runtime.unit_of_work().reading() as session:
            webhook = session.get(Webhook, self.webhook_id)
        if webhook is None or webhook.revoked_at is not None or webhook.tenant_id != self.tenant_id:
            return Outcome("skipped: webhook revoked", sent=self.sent)
        if webhook.paused_at is not None:
            return Outcome("held: endpoint paused", sent=self.sent)
        return webhook

    def _send(self, destination: Destination, secret: str, attempt: int) -> Outcome:
        while True:
            webhook = self._webhook()  # again each page: a revoke or pause stops the run
            if isinstance(webhook, Outcome):
                return webhook
            batch = self._next_batch(webhook)
            if batch is None:
                return Outcome(f"up to date: sent {self.sent}", sent=self.sent)
            failing = bool(webhook.consecutive_failures)
            for cursor, body in batch.items:
                if body is None:
                    with self.runtime.unit_of_work() as uow:
                        advance(uow.session, webhook.id, cursor, delivered=False)
                    continue
                try:
                    _post(destination, secret, body)
                except DeliveryFailed as failure:
                    log_event(
                        log,
                        "webhook delivery failed",
                        webhook_id=webhook.id,
                        cursor=cursor,
                        error=str(failure),
                    )
                    return self._failed(failure, attempt)
                self.sent += 1
                if batch.snapshot is None:
                    with self.runtime.unit_of_work() as uow:
                        advance(uow.session, webhook.id, cursor)
                elif failing:
                    # A snapshot's progress is kept a page at a time; its failures end now.
                    self._clear_failures()
                failing, attempt = False, 0
                if batch.snapshot is None and self._spent():
                    return self._queue_next()
            if batch.snapshot is not None:
                with self.runtime.unit_of_work() as uow:
                    snapshot = batch.snapshot
                    snapshot_sent(uow.session, webhook.id, snapshot.next_page, snapshot.feed_cursor)
            if self._spent():
                return self._queue_next()

    def _next_batch(self, webhook: Webhook) -> _Batch | None:
        """The changes after the webhook's cursor (None: there are none), or the next
        page of its snapshot when it is catching up from one."""
        with self.runtime.unit_of_work().reading() as session:
            if webhook.snapshot_page is not None:
                return self._snapshot(session, webhook.snapshot_page)
            try:
                page = change_feed.changes_after(
                    session, self.tenant_id, webhook.feed_cursor, FEED_PAGE
                )
            except change_feed.CursorExpired:
                return self._snapshot(session, None)
        if not page.changes:
            return None
        items: list[tuple[int, bytes | None]] = []
        for change, cursor in zip(page.changes, page.cursors, strict=True):
            if json.loads(change)["kind"] == change_feed.SCOPES:
                items.append((cursor, None))  # for readers that check scopes themselves
            else:
                items.append((cursor, _body(self.tenant_id, CHANGED_EVENT, change)))
        return _Batch(items)

    def _snapshot(self, session: Session, page_token: str | None) -> _Batch:
        page = change_feed.snapshot_page(session, self.tenant_id, page_token, SNAPSHOT_PAGE)
        items: list[tuple[int, bytes | None]] = [
            (page.feed_cursor, _body(self.tenant_id, SNAPSHOT_EVENT, s, page.feed_cursor))
            for s in page.sets
        ]
        return _Batch(items, page)

    def _spent(self) -> bool:
        return (
            self.sent >= self.budget.changes
            or self.clock() - self.started_at >= self.budget.seconds
        )

    def _queue_next(self) -> Outcome:
        return Outcome(f"sent {self.sent}; more to send, queued again", sent=self.sent, more=True)

    def _clear_failures(self) -> None:
        with self.runtime.unit_of_work() as uow:
            uow.session.execute(
                update(Webhook)
                .where(Webhook.id == self.webhook_id)
                .values(consecutive_failures=0, next_attempt_at=None)
            )

    def _failed(self, failure: DeliveryFailed, attempt: int) -> Outcome:
        """Count a failure against the endpoint: retry after its backoff, or pause it,
        or (a failure retrying cannot mend) leave the change for the next run."""
        now = utcnow()
        with self.runtime.unit_of_work() as uow:
            session = uow.session
            webhook = session.get(Webhook, self.webhook_id, with_for_update=True)
            if webhook is None or webhook.revoked_at is not None:
                return Outcome("skipped: webhook revoked", sent=self.sent)
            webhook.consecutive_failures = (webhook.consecutive_failures or 0) + 1
            webhook.last_error = str(failure)[:500]
            webhook.last_failure_at = now
            exhausted = failure.retry and attempt >= MAX_RETRIES
            if webhook.paused_at is None and (
                webhook.consecutive_failures >= self.breaker.threshold or exhausted
            ):
                before = _audited(webhook)
                webhook.paused_at = now
                record(
                    session,
                    self.tenant_id,
                    SYSTEM_ACTOR,
                    "webhook.pause",
                    "webhook",
                    webhook.id,
                    before=before,
                    after=_audited(webhook),
                )
            if webhook.paused_at is not None:
                webhook.next_attempt_at = None
                return Outcome(f"held: endpoint paused ({failure})", sent=self.sent)
            if not failure.retry:
                webhook.next_attempt_at = None
                return Outcome(f"failed: {failure}", sent=self.sent)
            delay = self.breaker.backoff(webhook.consecutive_failures)
            webhook.next_attempt_at = now + timedelta(seconds=delay)
            return Outcome(
                f"retrying in {delay:g}s: {failure}",
                retry_in=delay,
                attempt=attempt + 1,
                sent=self.sent,
            )


def _post(destination: Destination, secret: str, body: bytes) -> int:
    """Send one event; its HTTP status. Raises DeliveryFailed."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "rolecall-webhooks",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
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
    return status
