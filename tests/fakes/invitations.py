"""In-memory invitations with the rules of their SQL repository
(service/persistence/repositories/invitations.py): at most one live invitation per
user of a tenant (the partial unique index, checked where the database would: when
an invitation is added or saved), reads scoped to a tenant except by token hash, and
users found in the SCIM tables the fake unit of work shares (tests/fakes/scim.py).

Rows are the ORM classes, which work without a session. Locks are recorded (`locked`)
rather than held: the fake runs one unit of work at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.domain import invitations as lifecycle
from service.domain.invitations import InvitationStatus
from service.persistence.invitation_models import (
    LIVE_STATUSES,
    Invitation,
    InvitationSettings,
)
from service.persistence.scim_models import ScimUser
from tests.fakes.scim import FakeScimTables


class LiveInvitationTaken(Exception):
    """What the database's `uq_invitations_live_user` index would refuse."""


@dataclass(frozen=True)
class SettledJobRow:
    invitation_id: str
    status: str
    reason: str | None


class FakeInvitations:
    def __init__(self, scim: FakeScimTables) -> None:
        self._scim = scim
        self.rows: dict[str, Invitation] = {}
        self.settings_rows: dict[str, InvitationSettings] = {}
        self.tenant_names: dict[str, str] = {}
        # By tenant: each product's default role, by product key.
        self.default_roles_by_tenant: dict[str, dict[str, str]] = {}
        self.settled_job_rows: list[SettledJobRow] = []
        self.locked: list[str] = []

    # Invitations -------------------------------------------------------------------

    def add(self, invitation: Invitation) -> None:
        assert invitation.id not in self.rows, f"invitation {invitation.id} is stored already"
        self._check_live(invitation)
        self.rows[invitation.id] = invitation

    def save(self, invitation: Invitation) -> None:
        assert self.rows.get(invitation.id) is invitation, "saving an invitation not stored"
        self._check_live(invitation)

    def get(self, tenant_id: str, invitation_id: str, *, lock: bool = False) -> Invitation | None:
        row = self.rows.get(invitation_id)
        if row is None or row.tenant_id != tenant_id:
            return None
        return self._read(row, lock)

    def by_token_hash(self, token_hash: str, *, lock: bool = False) -> Invitation | None:
        row = next((r for r in self.rows.values() if r.token_hash == token_hash), None)
        return self._read(row, lock) if row is not None else None

    def live_of_user(self, tenant_id: str, user_id: str) -> list[Invitation]:
        return [self._read(row, True) for row in self._live(tenant_id, user_id)]

    def write_if_still(
        self,
        invitation: Invitation,
        state: lifecycle.Invitation,
        statuses: Iterable[InvitationStatus],
    ) -> bool:
        stored = self.rows.get(invitation.id)
        assert stored is invitation, "writing an invitation not stored"
        if stored.status not in {status.value for status in statuses}:
            return False
        stored.keep(state)
        return True

    def reload(self, invitation: Invitation) -> None:
        assert self.rows.get(invitation.id) is invitation, "reloading an invitation not stored"

    def settle_job_rows(self, invitation_id: str, status: str, reason: str | None) -> None:
        self.settled_job_rows.append(SettledJobRow(invitation_id, status, reason))

    # The tenant's settings and template ----------------------------------------------

    def settings(self, tenant_id: str) -> InvitationSettings | None:
        return self.settings_rows.get(tenant_id)

    def add_settings(self, row: InvitationSettings) -> None:
        assert row.tenant_id not in self.settings_rows, "the tenant has settings already"
        self.settings_rows[row.tenant_id] = row

    def tenant_name(self, tenant_id: str) -> str:
        return self.tenant_names.get(tenant_id, "")

    def default_roles(self, tenant_id: str) -> dict[str, str]:
        return dict(self.default_roles_by_tenant.get(tenant_id, {}))

    # The users invitations are for ------------------------------------------------------

    def user_by_email(self, tenant_id: str, email: str) -> ScimUser | None:
        return next(
            (
                user
                for user in self._scim.users.values()
                if user.tenant_id == tenant_id and user.user_name_lower == email.lower()
            ),
            None,
        )

    def users(self, tenant_id: str, user_ids: Iterable[str]) -> list[ScimUser]:
        wanted = set(user_ids)
        return [
            user
            for user in self._scim.users.values()
            if user.tenant_id == tenant_id and user.id in wanted
        ]

    # For tests ---------------------------------------------------------------------------

    def of_user(self, tenant_id: str, user_id: str) -> list[Invitation]:
        """Every invitation of the user, in the order they were added."""
        return [r for r in self.rows.values() if r.tenant_id == tenant_id and r.user_id == user_id]

    # -------------------------------------------------------------------------------------

    def _live(self, tenant_id: str, user_id: str) -> list[Invitation]:
        return [
            row
            for row in self.rows.values()
            if row.tenant_id == tenant_id and row.user_id == user_id and row.status in LIVE_STATUSES
        ]

    def _check_live(self, invitation: Invitation) -> None:
        if invitation.user_id is None or invitation.status not in LIVE_STATUSES:
            return
        others = [
            row
            for row in self._live(invitation.tenant_id, invitation.user_id)
            if row.id != invitation.id
        ]
        if others:
            raise LiveInvitationTaken(
                f"user {invitation.user_id} holds a live invitation already ({others[0].id})"
            )

    def _read(self, row: Invitation, lock: bool) -> Invitation:
        if lock:
            self.locked.append(row.id)
        return row
