"""Where an invitation invites to: a role at a scope, which accepting it grants.

Seed 003: a user is invited "at the Organization, Folder, or Report level", and View
"is the default access right which applies to any User when invited". So:

- when an invitation is made (one from the admin API, or a bulk invite's rows), the
  scope and role it names are checked (`GrantChecker`) against the tenant's roles and
  scopes, read where the assignment use cases read them (`uow.assignments`), by the
  domain's rule (service.domain.invitations.invited_grant): it is refused for what a
  direct assignment would be refused for, naming the field;
- one that names a scope but no role gets the default role, decided by
  `default_role_key` and nowhere else;
- the email and the invitation's page say where (`names_of`);
- accepting it grants it (`grant_on_accept`): a direct assignment made by
  service.services.assignments in the accept's unit of work, so the person's
  permission set is recomputed as for any assignment; at an account the person joins
  the account (`assign_account`).

The accept stands even when the grant cannot be made by then (the role or scope was
deleted, the account rules refuse the account, the person holds it already): the
person has answered, and their user exists. The invitation keeps what became of the
grant (`grant_outcome`: granted, held_already or refused, with `grant_reason`), shown
on the admin API, and a refusal is recorded in the audit log as
`invitation.grant_refused`, so an admin sees it and can assign by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.domain import ScopeTree
from service.domain.errors import DomainError
from service.domain.invitations import REASON_LIMIT, GrantOutcome, InvitedGrant, invited_grant
from service.persistence.invitation_models import Invitation
from service.persistence.unit_of_work import UnitOfWork
from service.services import assignments

GRANT_REFUSED = "invitation.grant_refused"


def default_role_key(uow: UnitOfWork, tenant_id: str) -> str | None:
    """The role an invitation that names a scope but no role grants: the tenant's
    default role (seed 003's View, when the reporting catalog is loaded)."""
    return uow.invitations.default_role_key(tenant_id)


class GrantChecker:
    """Checks where invitations invite to, one or many: the roles and scopes they name
    are read once for all (a bulk invite's rows name a few of each)."""

    def __init__(
        self, uow: UnitOfWork, tenant_id: str, wanted: Iterable[tuple[str | None, str | None]]
    ) -> None:
        """`wanted`: the (scope_id, role key) pairs that will be checked."""
        scoped = [(scope_id, role) for scope_id, role in wanted if scope_id is not None]
        needs_default = any(role is None for _, role in scoped)
        self._default = default_role_key(uow, tenant_id) if needs_default else None
        keys = {key for _, role in scoped if (key := role or self._default)}
        found = {key: uow.assignments.role(tenant_id, key) for key in sorted(keys)}
        self._roles = {key: role.role for key, role in found.items() if role is not None}
        # Most invitations name no scope: they cost no lookup.
        scope_ids = [scope_id for scope_id, _ in scoped]
        self._tree = uow.assignments.scope_tree(tenant_id, scope_ids) if scoped else ScopeTree(())

    def check(self, scope_id: str | None, role_key: str | None) -> InvitedGrant | None:
        """Where an invitation naming these invites to (None: nowhere); raises
        ValidationFailed naming `scope_id` or `role`."""
        return invited_grant(
            scope_id,
            role_key,
            default_role_key=self._default,
            roles=self._roles,
            tree=self._tree,
        )


def checked(
    uow: UnitOfWork, tenant_id: str, scope_id: str | None, role_key: str | None
) -> InvitedGrant | None:
    """Where one invitation invites to (see GrantChecker.check)."""
    return GrantChecker(uow, tenant_id, [(scope_id, role_key)]).check(scope_id, role_key)


@dataclass(frozen=True)
class GrantNames:
    """How a person is told where they are invited to."""

    role_name: str
    scope_name: str
    scope_type: str

    @property
    def where(self) -> str:
        """The words that follow "invited you to <tenant>", with their leading space."""
        return f" as {self.role_name} at the {self.scope_type} {self.scope_name}"


def names_of(
    uow: UnitOfWork, tenant_id: str, grants: Iterable[InvitedGrant]
) -> dict[InvitedGrant, GrantNames]:
    """The names of the roles and scopes of these grants. One deleted since the
    invitation was made is named by its key or id (accepting it will say it is gone)."""
    wanted = set(grants)
    if not wanted:
        return {}
    found = {key: uow.assignments.role(tenant_id, key) for key in {g.role_key for g in wanted}}
    tree = uow.assignments.scope_tree(tenant_id, {g.scope_id for g in wanted})
    names = {}
    for grant in wanted:
        role, scope = found[grant.role_key], tree.find(grant.scope_id)
        names[grant] = GrantNames(
            role_name=role.role.name if role is not None else grant.role_key,
            scope_name=scope.name if scope is not None else grant.scope_id,
            scope_type=scope.type if scope is not None else "scope",
        )
    return names


def grant_on_accept(uow: UnitOfWork, invitation: Invitation, actor: str) -> None:
    """Give the accepted invitation's grant (if it has one) in the accept's unit of
    work, and keep on the invitation what became of it."""
    grant = invitation.grant()
    if grant is None or invitation.user_id is None:
        return
    outcome, reason = GrantOutcome.GRANTED, None
    try:
        assignments.create_assignment(
            uow,
            invitation.tenant_id,
            user=invitation.user_id,
            role_key=grant.role_key,
            scope_id=grant.scope_id,
            assign_account=grant.assign_account,
            actor=actor,
        )
    except DomainError as error:
        # The use case checks everything before it writes: a refusal leaves nothing
        # half made in the unit, and the accept goes on.
        reason = error.message[:REASON_LIMIT]
        if error.code == "duplicate":
            outcome = GrantOutcome.HELD_ALREADY
        else:
            outcome = GrantOutcome.REFUSED
            uow.audit.record(
                invitation.tenant_id,
                actor,
                GRANT_REFUSED,
                "invitation",
                invitation.id,
                after={
                    "user_id": invitation.user_id,
                    "role": grant.role_key,
                    "scope_id": grant.scope_id,
                    "assign_account": grant.assign_account,
                    "code": error.code,
                    "reason": reason,
                },
            )
    invitation.grant_outcome = outcome.value
    invitation.grant_reason = reason
