"""The append-only audit log: every admin change records who, what, before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.persistence.models import AuditEvent


def record(
    session: Session,
    tenant_id: str,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    from service.observability import current_request_id

    event = AuditEvent(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        request_id=request_id or current_request_id(),
    )
    session.add(event)
    return event
