"""The provisioning log: one row per SCIM operation, Entra-style, with its IdP, the
operation, the resource, the outcome and the reason.

It is the audit log, read through the columns a SCIM request fills in
(service.persistence.repositories.audit): the use cases behind SCIM writes mark the
event that tells what an operation did (applied, no change, a member skipped), and a
request refused with a SCIM error is recorded here, after its own work was rolled
back (`record_rejected`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from service.persistence.base import column_length, utcnow
from service.persistence.models import AuditEvent
from service.persistence.repositories.audit import Outcome, ScimSource
from service.persistence.unit_of_work import UnitOfWork
from service.services.listing import paginate

OPERATIONS = ("create", "replace", "patch", "delete", "bulk", "get", "list", "search")
RESOURCE_TYPES = ("User", "Group")
# A refused request changed no resource: its event's target is the request (the
# resource it named is in resource_type and target_id).
REJECTED = "scim.request.rejected"
REJECTED_TARGET = "scim_request"
RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class ProvisioningEntry:
    """One SCIM operation as the log shows it."""

    id: str
    occurred_at: datetime
    idp: str | None
    user_agent: str | None
    operation: str | None
    resource_type: str | None
    resource_id: str | None
    resource_name: str | None
    outcome: str
    reason: str | None
    request_id: str | None


@dataclass(frozen=True)
class IdpActivity:
    """What one IdP did last, and how much of it was applied or rejected lately."""

    idp: str
    last_seen: datetime
    last_user_agent: str | None
    last_operation: str | None
    last_resource_type: str | None
    last_resource: str | None
    last_outcome: str
    last_reason: str | None
    applied_24h: int
    rejected_24h: int


def record_rejected(
    uow: UnitOfWork,
    tenant_id: str,
    actor: str,
    source: ScimSource,
    *,
    resource_type: str | None,
    resource_id: str | None,
    resource_name: str | None,
    status: int,
    scim_type: str | None,
    reason: str,
) -> None:
    """A SCIM request refused with an error (status 4xx), in a unit of work of its own."""
    with uow:
        uow.audit.source = source
        uow.audit.record(
            tenant_id,
            actor,
            REJECTED,
            REJECTED_TARGET,
            (resource_id or "")[: column_length(AuditEvent.target_id)],
            after={"status": status, "scimType": scim_type},
            outcome=Outcome.REJECTED,
            resource_name=resource_name,
            reason=reason,
            resource_type=resource_type,
        )


def _entry(row: AuditEvent) -> ProvisioningEntry:
    return ProvisioningEntry(
        id=row.id,
        occurred_at=row.occurred_at,
        idp=row.idp,
        user_agent=row.user_agent,
        operation=row.scim_operation,
        resource_type=row.resource_type,
        resource_id=row.target_id or None,
        resource_name=row.resource_name,
        outcome=row.outcome or "",
        reason=row.reason,
        request_id=row.request_id,
    )


def list_operations(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    outcome: str | None = None,
    operation: str | None = None,
    resource_type: str | None = None,
    idp: str | None = None,
    reason_contains: str | None = None,
) -> tuple[list[ProvisioningEntry], int]:
    """One page of the tenant's SCIM operations, newest first, and how many match."""
    query = select(AuditEvent).where(
        AuditEvent.tenant_id == tenant_id, AuditEvent.outcome.is_not(None)
    )
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    if operation is not None:
        query = query.where(AuditEvent.scim_operation == operation)
    if resource_type is not None:
        query = query.where(AuditEvent.resource_type == resource_type)
    if idp is not None:
        query = query.where(AuditEvent.idp == idp)
    if reason_contains:
        query = query.where(AuditEvent.reason.icontains(reason_contains, autoescape=True))
    query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    with uow.reading() as session:
        rows, total = paginate(session, query, page, per_page)
        return [_entry(row) for row in rows], total


def idp_activity(uow: UnitOfWork, tenant_id: str) -> list[IdpActivity]:
    """Each IdP that has sent the tenant a SCIM operation: its last one, and its applied
    and rejected operations of the last 24 hours; the most recently seen first."""
    scim_rows = (AuditEvent.tenant_id == tenant_id, AuditEvent.outcome.is_not(None))
    since = utcnow() - RECENT
    with uow.reading() as session:
        idps = list(session.scalars(select(AuditEvent.idp).where(*scim_rows).distinct()))
        counts: dict[tuple[str, str], int] = {
            (row_idp, row_outcome): count
            for row_idp, row_outcome, count in session.execute(
                select(AuditEvent.idp, AuditEvent.outcome, func.count())
                .where(*scim_rows, AuditEvent.occurred_at >= since)
                .group_by(AuditEvent.idp, AuditEvent.outcome)
            )
        }
        found = []
        # One short query per IdP (a tenant has a few) for its newest row.
        for name in idps:
            last = session.scalars(
                select(AuditEvent)
                .where(*scim_rows, AuditEvent.idp == name)
                .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
                .limit(1)
            ).one()
            found.append(
                IdpActivity(
                    idp=name or "other",
                    last_seen=last.occurred_at,
                    last_user_agent=last.user_agent,
                    last_operation=last.scim_operation,
                    last_resource_type=last.resource_type,
                    last_resource=last.resource_name or last.target_id or None,
                    last_outcome=last.outcome or "",
                    last_reason=last.reason,
                    applied_24h=counts.get((name, Outcome.APPLIED.value), 0),
                    rejected_24h=counts.get((name, Outcome.REJECTED.value), 0),
                )
            )
    return sorted(found, key=lambda activity: activity.last_seen, reverse=True)
