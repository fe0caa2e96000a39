"""The append-only audit log, as use cases write it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.observability import current_request_id
from service.persistence.base import new_id, utcnow
from service.persistence.models import AuditEvent


def event_values(
    tenant_id: str,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The columns of one audit event."""
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "occurred_at": utcnow(),
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "before": before,
        "after": after,
        "request_id": request_id or current_request_id(),
    }


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(
        self,
        tenant_id: str,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Who changed what, with the state before and after (never a secret). Written
        at once, as a Core insert: an append-only row needs no ORM identity."""
        values = event_values(tenant_id, actor, action, target_type, target_id, before, after)
        self._session.execute(insert(AuditEvent.__table__), values)
