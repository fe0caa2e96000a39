"""Permission-change webhooks: a tenant registers URLs; every change to a user's
cached permission set is POSTed to each, signed with HMAC-SHA256, and retried with
backoff by the delivery task.

The signing secret is derived from ROLECALL_SECRET_KEY and the webhook's id, shown
once when the webhook is made, and never stored: rotating the service's secret key
therefore rotates every webhook secret (re-create the webhooks to see the new ones).
The signature covers `"{timestamp}.{body}"`, so a receiver can refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cache.permission_cache import PermissionCache
from service.domain.errors import NotFound, ValidationFailed
from service.observability import log_event
from service.persistence.base import utcnow
from service.persistence.outbox import emit
from service.persistence.unit_of_work import UnitOfWork
from service.persistence.webhook_models import Webhook
from service.services.audit import record

DELIVER = "rolecall.webhooks.deliver"
SIGNATURE_HEADER = "X-Rolecall-Signature"
TIMESTAMP_HEADER = "X-Rolecall-Timestamp"
TIMEOUT_SECONDS = 5.0

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


def secret_for(secret_key: str, webhook_id: str) -> str:
    return hmac.new(secret_key.encode(), f"webhook:{webhook_id}".encode(), "sha256").hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def describe(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "description": webhook.description,
        "created_at": webhook.created_at,
        "revoked_at": webhook.revoked_at,
    }


def _audited(webhook: Webhook) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in describe(webhook).items()
    }


def create_webhook(
    uow: UnitOfWork, tenant_id: str, url: str, description: str, actor: str, secret_key: str
) -> CreatedWebhook:
    with uow:
        session = uow.session
        parsed = urlparse(url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise ValidationFailed("invalid_url", "url must be an absolute http(s) URL", "url")
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


def list_webhooks(uow: UnitOfWork, tenant_id: str) -> list[Webhook]:
    with uow.reading() as session:
        return list(
            session.scalars(
                select(Webhook).where(Webhook.tenant_id == tenant_id).order_by(Webhook.created_at)
            )
        )


def revoke_webhook(uow: UnitOfWork, tenant_id: str, webhook_id: str, actor: str) -> None:
    with uow:
        session = uow.session
        webhook = session.get(Webhook, webhook_id)
        if webhook is None or webhook.tenant_id != tenant_id:
            raise NotFound("not_found", f"No webhook {webhook_id!r}", "id")
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


def changes_recorded(session: Session, tenant_id: str, user_ids: Iterable[str]) -> int:
    """Record a delivery for each active webhook and each changed user; returns how many.

    Deliveries coalesce per (webhook, user) while pending, and each sends the set
    cached when it runs, so a burst of changes sends the newest set once."""
    ids = list(user_ids)
    if not ids:
        return 0
    hooks = session.scalars(
        select(Webhook.id).where(Webhook.tenant_id == tenant_id, Webhook.revoked_at.is_(None))
    ).all()
    for hook_id in hooks:
        for user_id in ids:
            emit(session, tenant_id, DELIVER, f"{hook_id}:{user_id}")
    return len(hooks) * len(ids)


def deliver(
    uow: UnitOfWork, cache: PermissionCache, secret_key: str, tenant_id: str, object_id: str
) -> str:
    """POST the user's current set (from `cache`) to one webhook, signed with the secret
    derived from `secret_key`. Raises DeliveryFailed on failure."""
    webhook_id, _, user_id = object_id.partition(":")
    with uow.reading() as session:
        webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.revoked_at is not None or webhook.tenant_id != tenant_id:
        return "skipped: webhook revoked"
    permissions = cache.body_of(tenant_id, user_id)
    if permissions is None:
        return "skipped: no cached set (the next change will be sent)"
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
        response = requests.post(webhook.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise DeliveryFailed(f"{type(error).__name__}", retry=True) from error
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise DeliveryFailed(f"HTTP {response.status_code}", retry=True)
    if response.status_code >= 400:
        raise DeliveryFailed(f"HTTP {response.status_code}", retry=False)
    log_event(
        log,
        "webhook delivered",
        webhook_id=webhook.id,
        user_id=user_id,
        status=response.status_code,
    )
    return f"delivered: HTTP {response.status_code}"
