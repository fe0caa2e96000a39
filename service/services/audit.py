"""The append-only audit log: every admin change records who, what, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.persistence.models import AuditEvent
from service.persistence.unit_of_work import UnitOfWork
from service.services.listing import paginate


def record(
    session: Session,
    tenant_id: str,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An event in the audit log of the unit of work that owns `session`."""
    UnitOfWork.of(session).audit.record(
        tenant_id, actor, action, target_type, target_id, before, after
    )


def list_events(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEvent], int]:
    """One page of the tenant's events, newest first; ``action`` ending in '.' is a prefix."""
    with uow.reading() as session:
        query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
        if action is not None:
            query = query.where(
                AuditEvent.action.startswith(action, autoescape=True)
                if action.endswith(".")
                else AuditEvent.action == action
            )
        if target_type is not None:
            query = query.where(AuditEvent.target_type == target_type)
        if target_id is not None:
            query = query.where(AuditEvent.target_id == target_id)
        if actor is not None:
            query = query.where(AuditEvent.actor == actor)
        if since is not None:
            query = query.where(AuditEvent.occurred_at >= since)
        if until is not None:
            query = query.where(AuditEvent.occurred_at < until)
        query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        return paginate(session, query, page, per_page)
