"""An invitation row and its lifecycle aggregate, kept in step: store the aggregate's
outcome, describe a row for the audit log, revoke.

Below both the invitation use cases and the SCIM user use cases: a deprovisioned user
keeps no invitation link that works, and the invitation use cases create SCIM users
for new addresses, so this part stands on its own to keep the two from importing
each other.
"""

from __future__ import annotations

from typing import Any

from service import metrics
from service.domain import invitations as lifecycle
from service.persistence.base import utcnow
from service.persistence.invitation_models import Invitation
from service.persistence.unit_of_work import UnitOfWork


def keep(row: Invitation, state: lifecycle.Invitation) -> None:
    """Store the aggregate's outcome on its row, counting a status change."""
    changed = row.keep(state)
    if changed is not None:
        metrics.invitations.labels(changed.value).inc()


def describe(invitation: Invitation) -> dict[str, Any]:
    """What the audit log keeps of an invitation, before and after a change."""
    return {
        "id": invitation.id,
        "user_id": invitation.user_id,
        "email": invitation.email,
        "status": invitation.status,
        "send_round": invitation.send_round,
        "expires_at": invitation.expires_at.isoformat(),
        "role": invitation.role_key,
        "scope_id": invitation.scope_id,
        "grant_outcome": invitation.grant_outcome,
    }


def revoke_row(uow: UnitOfWork, row: Invitation, actor: str) -> None:
    """Revoke a locked invitation (IllegalTransition when it is accepted or revoked)."""
    before = describe(row)
    state = row.lifecycle()
    state.revoke(utcnow())
    keep(row, state)
    uow.invitations.settle_job_rows(row.id, "failed", "revoked before it was sent")
    uow.audit.record(
        row.tenant_id,
        actor,
        "invitation.revoke",
        "invitation",
        row.id,
        before=before,
        after=describe(row),
    )


def revoke_pending_for_user(uow: UnitOfWork, tenant_id: str, user_id: str, actor: str) -> int:
    """Part of every deprovisioning (service.services.scim_users), in its unit of work
    (joined, not committed here): revoke every live invitation of the user, so its
    link stops working. A message a worker is handing over right now may still arrive;
    its link is dead."""
    with uow:
        found = uow.invitations.live_of_user(tenant_id, user_id)
        for invitation in found:
            revoke_row(uow, invitation, actor)
        return len(found)
