"""Invitations as the admin and public use cases read and write them.

Rows are the ORM classes (service.persistence.invitation_models); the use cases ask
the lifecycle aggregate (`row.lifecycle()`) and store its outcome (`row.keep(state)`).
Locks are part of the contract: `get(..., lock=True)`, `by_token_hash(..., lock=True)`
and `live_of_user` hold the rows (SELECT ... FOR UPDATE) until the unit of work ends,
so two concurrent changes of one invitation happen one after the other.

The rules a twin must keep (tests/fakes/invitations.py):

- a tenant holds at most one live (pending, sending, sent) invitation per user: adding
  a second is refused when the unit of work writes it;
- `save` writes a changed invitation now, so a later statement of the same unit (the
  insert of a new live invitation) sees it;
- reads are scoped to a tenant, except by token hash (a token names its invitation);
- the role and scope an invitation names are looked up where assignments look them up
  (`uow.assignments`); only the products' default roles are read here;
- `write_if_still` writes only while the stored row is still in the round and one of
  the statuses it was read in, and says whether it did: of concurrent writers exactly
  one wins, on every database (SQLite ignores FOR UPDATE, so a lock alone is not enough).

The worker pipeline (service.services.invitation_delivery) keeps its own statements:
its settle after each message is a plain-statement hot path (see invitation_models).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from service.domain import invitations as lifecycle
from service.domain.invitations import InvitationStatus
from service.persistence.invitation_models import (
    LIVE_STATUSES,
    Invitation,
    InvitationSettings,
    JobRow,
)
from service.persistence.models import Tenant
from service.persistence.permission_models import ProductRow, RoleRow
from service.persistence.scim_models import ScimUser


class SqlInvitations:
    def __init__(self, session: Session) -> None:
        self._session = session

    # Invitations -------------------------------------------------------------------

    def add(self, invitation: Invitation) -> None:
        self._session.add(invitation)

    def save(self, invitation: Invitation) -> None:
        """Write the invitation's changes now (they are written at the commit anyway)."""
        self._session.flush()

    def get(self, tenant_id: str, invitation_id: str, *, lock: bool = False) -> Invitation | None:
        query = select(Invitation).where(
            Invitation.tenant_id == tenant_id, Invitation.id == invitation_id
        )
        return self._session.scalar(query.with_for_update() if lock else query)

    def by_token_hash(self, token_hash: str, *, lock: bool = False) -> Invitation | None:
        query = select(Invitation).where(Invitation.token_hash == token_hash)
        return self._session.scalar(query.with_for_update() if lock else query)

    def live_of_user(self, tenant_id: str, user_id: str) -> list[Invitation]:
        """The user's live invitations (at most one), locked."""
        return list(
            self._session.scalars(
                select(Invitation)
                .where(
                    Invitation.tenant_id == tenant_id,
                    Invitation.user_id == user_id,
                    Invitation.status.in_(LIVE_STATUSES),
                )
                .with_for_update()
            )
        )

    def write_if_still(
        self,
        invitation: Invitation,
        state: lifecycle.Invitation,
        statuses: Iterable[InvitationStatus],
    ) -> bool:
        """Write the aggregate's state with one conditional UPDATE: only while the stored
        row is in the round it was read in and in one of `statuses`. True when written
        (the row object then holds the state); False when another writer changed the row
        first, and nothing was written."""
        changed = {
            name: value.value if isinstance(value, InvitationStatus) else value
            for name, value in vars(state).items()
            if name != "id" and getattr(invitation, name) != value
        }
        if not changed:
            return True
        result = self._session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation.id,
                Invitation.send_round == invitation.send_round,
                Invitation.status.in_([status.value for status in statuses]),
            )
            .values(**changed)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        # What the database holds now, so the commit writes it no second time.
        for name, value in changed.items():
            set_committed_value(invitation, name, value)
        return True

    def reload(self, invitation: Invitation) -> None:
        """Read the row again, as another writer left it."""
        self._session.refresh(invitation)

    def settle_job_rows(self, invitation_id: str, status: str, reason: str | None) -> None:
        """The bulk job's row for this invitation, if one is still processing, is done."""
        self._session.execute(
            update(JobRow)
            .where(JobRow.invitation_id == invitation_id, JobRow.status == "processing")
            .values(status=status, reason=reason)
        )

    # The tenant's settings and template ----------------------------------------------

    def settings(self, tenant_id: str) -> InvitationSettings | None:
        return self._session.get(InvitationSettings, tenant_id)

    def add_settings(self, row: InvitationSettings) -> None:
        self._session.add(row)

    def tenant_name(self, tenant_id: str) -> str:
        tenant = self._session.get(Tenant, tenant_id)
        return tenant.name if tenant else ""

    def default_roles(self, tenant_id: str) -> dict[str, str]:
        """Each product's default role, by product key (products without one left out)."""
        rows = self._session.execute(
            select(ProductRow.key, RoleRow.key)
            .join(RoleRow, RoleRow.id == ProductRow.default_role_id)
            .where(ProductRow.tenant_id == tenant_id)
        )
        return {product: role for product, role in rows}

    # The users invitations are for (by id: `uow.users.get`) ---------------------------

    def user_by_email(self, tenant_id: str, email: str) -> ScimUser | None:
        """The user whose userName is the address (case-insensitive)."""
        return self._session.scalar(
            select(ScimUser).where(
                ScimUser.tenant_id == tenant_id, ScimUser.user_name_lower == email.lower()
            )
        )

    def users(self, tenant_id: str, user_ids: Iterable[str]) -> list[ScimUser]:
        return list(
            self._session.scalars(
                select(ScimUser).where(
                    ScimUser.tenant_id == tenant_id, ScimUser.id.in_(list(user_ids))
                )
            )
        )
