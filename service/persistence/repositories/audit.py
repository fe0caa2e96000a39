"""The append-only audit log, as use cases write it.

A SCIM request's unit of work carries the request's `ScimSource` (`SqlAuditLog.source`,
set by service.scim.storage): an event that states an `outcome` is then the row of the
provisioning log for its operation, with the IdP, the operation and the resource. The
same use cases called from elsewhere (an invitation creating a user) write plain events.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.observability import current_request_id
from service.persistence.base import column_length, new_id, utcnow
from service.persistence.models import AuditEvent


class Outcome(StrEnum):
    """What a SCIM operation did."""

    APPLIED = "applied"
    NO_CHANGE = "no_change"
    REJECTED = "rejected"
    MEMBER_SKIPPED = "member_skipped"


# The SCIM resource type of the audit log's target types.
RESOURCE_TYPES = {"scim_user": "User", "scim_group": "Group"}


@dataclass(frozen=True)
class ScimSource:
    """Who sent a SCIM operation and what it asked, as the provisioning log keeps it.

    `asked` says what the request asked for without any value (a PATCH's operations
    and paths, a PUT's resource): it is the reason of a row that changed nothing.
    """

    idp: str
    user_agent: str | None
    operation: str
    asked: str


def _fit(column: Any, value: str | None) -> str | None:
    """A value cut to its column (the log keeps what fits rather than failing)."""
    if value is None:
        return None
    length = column_length(column)
    return value if length is None or len(value) <= length else value[: length - 1] + "…"


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


def provisioning_values(
    source: ScimSource,
    outcome: Outcome,
    resource_type: str | None,
    resource_name: str | None,
    reason: str | None,
) -> dict[str, Any]:
    """The provisioning log's columns of an event; a row that changed nothing has
    what was asked as its reason."""
    if reason is None and outcome is Outcome.NO_CHANGE:
        reason = source.asked
    table = AuditEvent.__table__.c
    return {
        "outcome": outcome.value,
        "scim_operation": source.operation,
        "resource_type": resource_type,
        "resource_name": _fit(table.resource_name, resource_name),
        "reason": _fit(table.reason, reason),
        "idp": _fit(table.idp, source.idp),
        "user_agent": _fit(table.user_agent, source.user_agent),
    }


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.source: ScimSource | None = None

    def record(
        self,
        tenant_id: str,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        *,
        outcome: Outcome | None = None,
        resource_name: str | None = None,
        reason: str | None = None,
        resource_type: str | None = None,
    ) -> None:
        """Who changed what, with the state before and after (never a secret). Written
        at once, as a Core insert: an append-only row needs no ORM identity.

        With an `outcome`, inside a SCIM request, the event is the provisioning log's
        row of the operation (see the module's docstring)."""
        values = event_values(tenant_id, actor, action, target_type, target_id, before, after)
        if outcome is not None and self.source is not None:
            values |= provisioning_values(
                self.source,
                outcome,
                resource_type or RESOURCE_TYPES.get(target_type),
                resource_name,
                reason,
            )
        self._session.execute(insert(AuditEvent.__table__), values)

    def record_no_change(
        self,
        tenant_id: str,
        actor: str,
        target_type: str,
        target_id: str,
        resource_name: str | None,
    ) -> None:
        """A SCIM operation that left its resource as stored: the provisioning log's row,
        with what was asked as its reason. Outside a SCIM request nothing is written (the
        audit log keeps changes)."""
        if self.source is None:
            return
        action = f"scim.{RESOURCE_TYPES[target_type].lower()}.unchanged"
        self.record(
            tenant_id,
            actor,
            action,
            target_type,
            target_id,
            outcome=Outcome.NO_CHANGE,
            resource_name=resource_name,
        )
