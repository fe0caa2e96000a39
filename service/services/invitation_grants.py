"""Where an invitation invites to: a role at a scope, which accepting it grants.

Seed 003: a user is invited "at the Organization, Folder, or Report level", and View
"is the default access right which applies to any User when invited". So:

- when an invitation is made (one from the admin API, or a bulk invite's rows), the
  scope and role it names are checked (`GrantChecker`) against the tenant's roles and
  scopes, read where the assignment use cases read them (`uow.assignments`), by the
  domain's rule (service.domain.invitations.invited_grant): it is refused for what a
  direct assignment would be refused for, naming the field;
- one that names a scope but no role gets its product's default role, decided by
  the domain's `default_role_for` and nowhere else; a role of a group-only product is refused
  (409 naming the setting), as for a direct assignment;
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

from service.domain import Role, ScopeTree, qualify, split_ref
from service.domain.errors import DomainError
from service.domain.invitations import (
    REASON_LIMIT,
    GrantOutcome,
    InvitedGrant,
    default_role_for,
    invited_grant,
)
from service.persistence.invitation_models import Invitation
from service.persistence.repositories.assignments import FoundRole
from service.persistence.unit_of_work import UnitOfWork
from service.services import assignments

GRANT_REFUSED = "invitation.grant_refused"


class GrantChecker:
    """Checks where invitations invite to, one or many: each role they name is looked
    up once for all (a bulk invite's rows name a few).

    A role is named by its ref (``product/key``), or by its key alone when one product
    has it; ``product`` names the product of every invitation checked (a single
    invitation's `product` field), for its role or, without one, its default role."""

    def __init__(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        wanted: Iterable[tuple[str | None, str | None]],
        product: str | None = None,
    ) -> None:
        """`wanted`: the (scope_id, role) pairs that will be checked."""
        self._uow, self._tenant_id, self._product = uow, tenant_id, product
        self._found: dict[str, FoundRole | None] = {}
        self._defaults: dict[str, Role] | None = None
        # Most invitations name no scope: they cost no lookup.
        scope_ids = [scope_id for scope_id, _ in wanted if scope_id is not None]
        self._tree = (
            uow.assignments.scope_tree(tenant_id, scope_ids) if scope_ids else ScopeTree(())
        )

    def _role(self, name: str) -> FoundRole | None:
        """The role a name stands for (raises when its key is in several products)."""
        if name not in self._found:
            product, key = split_ref(name)
            self._found[name] = self._uow.assignments.role(
                self._tenant_id, key, product or self._product
            )
        return self._found[name]

    def _default_roles(self) -> dict[str, Role]:
        """The products' default roles, by ref, read once for all the checks."""
        if self._defaults is None:
            refs = (
                qualify(p, r)
                for p, r in self._uow.invitations.default_roles(self._tenant_id).items()
            )
            found = {ref: self._role(ref) for ref in refs}
            self._defaults = {ref: f.role for ref, f in found.items() if f is not None}
        return self._defaults

    def check(self, scope_id: str | None, role: str | None) -> InvitedGrant | None:
        """Where an invitation naming these invites to (None: nowhere); raises
        ValidationFailed naming `scope_id`, `role` or `product`, or Conflict for a role
        of a group-only product or a key in several products."""
        default = None
        if scope_id is not None and role is None:
            default = default_role_for(scope_id, self._default_roles(), self._tree, self._product)
        name = role if role is not None else default
        found = None if name is None or scope_id is None else self._role(name)
        if found is not None:
            found.product.check_direct_grant("a role-bearing invitation")
        return invited_grant(
            scope_id,
            role,
            default_role_key=default,
            roles={} if found is None or name is None else {name: found.role},
            tree=self._tree,
        )


def checked(
    uow: UnitOfWork,
    tenant_id: str,
    scope_id: str | None,
    role: str | None,
    product: str | None = None,
) -> InvitedGrant | None:
    """Where one invitation invites to (see GrantChecker.check)."""
    return GrantChecker(uow, tenant_id, [(scope_id, role)], product).check(scope_id, role)


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
    found = {
        ref: uow.assignments.role(tenant_id, split_ref(ref)[1], split_ref(ref)[0])
        for ref in {g.role_key for g in wanted}
    }
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
    product, role_key = split_ref(grant.role_key)
    try:
        assignments.create_assignment(
            uow,
            invitation.tenant_id,
            user=invitation.user_id,
            role_key=role_key,
            product=product,
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
