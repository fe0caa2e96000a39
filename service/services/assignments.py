"""Use cases for direct assignments: an admin gives a user a role at a scope.

Direct assignments are the user's own rows, not part of the tenant's shared
model, so they do not bump the model version; the user's set is recomputed.
With ``assign_account`` the user also becomes a member of that account, under
seed 001's rules: a request that breaks one is refused here with 409 naming the
rule, the account it collides with and where that account came from (a direct
assignment, or a mapping and its group), since an admin's explicit choice should
fail loudly. That includes a request that would make the user lose an account it
holds now, whatever that account's origin: an admin's assignment never silently
evicts an account that came from the IdP. (Derived changes, an IdP group change or
a new mapping, are not refused: the earlier account stays and the conflict is
listed; see service.domain.accounts.)

Without ``assign_account`` a role at an account the user does not belong to is
accepted but grants nothing until the user is a member: it is a listed conflict
("not_a_member"), since membership may still come from the IdP.
"""

from __future__ import annotations

from typing import Any

from service.domain import (
    AccountRequest,
    Conflict,
    NotFound,
    ValidationFailed,
    account_clash,
    check_grantable,
    split_ref,
)
from service.persistence.permission_models import AssignmentRow
from service.persistence.repositories.assignments import Listed
from service.persistence.repositories.scim import FoundUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation


def describe_assignment(row: AssignmentRow, role_ref: str) -> dict[str, Any]:
    product, role_key = split_ref(role_ref)
    return {
        "id": row.id,
        "user_id": row.user_id,
        "product": product,
        "role_key": role_key,
        "scope_id": row.scope_id,
        "assign_account": row.assign_account,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


def get_assignment(uow: UnitOfWork, tenant_id: str, assignment_id: str) -> Listed:
    with uow:
        return _existing(uow, tenant_id, assignment_id)


def list_assignments(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    user: str | None = None,
    role_key: str | None = None,
    scope_id: str | None = None,
) -> tuple[list[Listed], int]:
    with uow:
        user_id = None if user is None else _user(uow, tenant_id, user).id
        return uow.assignments.listing(
            tenant_id,
            page=page,
            per_page=per_page,
            user_id=user_id,
            role_key=role_key,
            scope_id=scope_id,
        )


def create_assignment(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    user: str,
    role_key: str,
    scope_id: str,
    assign_account: bool = False,
    product: str | None = None,
    actor: str,
) -> Listed:
    """Give `user` (its id, userName or externalId) the role at the scope.

    Joins the caller's unit when it is entered already (an invitation's accept, a
    self-registration), which then alone commits."""
    with uow:
        repo = uow.assignments
        try:
            found_user = _user(uow, tenant_id, user)
        except NotFound as exc:
            raise ValidationFailed("unknown_user", exc.message, "user") from None
        found_role = repo.role(tenant_id, role_key, product)
        if found_role is None:
            raise ValidationFailed("unknown_role", f"role {role_key!r} does not exist", "role_key")
        found_role.product.check_direct_grant()
        held = repo.account_requests(tenant_id, found_user.id) if assign_account else []
        tree = repo.scope_tree(tenant_id, [scope_id, *(r.account_id for r in held)])
        scope = check_grantable(found_role.role, scope_id, tree)
        if assign_account and not scope.is_account:
            raise ValidationFailed(
                "not_an_account",
                f"assign_account needs an account scope; {scope.id!r} is a {scope.type}",
                "assign_account",
            )
        if repo.exists(tenant_id, found_user.id, found_role.id, scope_id):
            raise Conflict(
                "duplicate",
                f"the user holds role {role_key!r} at {scope_id!r} already",
                "role_key",
            )
        if assign_account:
            clash = account_clash(
                uow.user_types.table(tenant_id).type_of(found_user.user_type),
                held,
                AccountRequest.direct(scope_id),
                tree,
                repo.account_rules(tenant_id),
            )
            if clash is not None:
                raise Conflict(clash.rule.value, clash.message, "scope_id", clash.to_dict())
        row = AssignmentRow(
            tenant_id=tenant_id,
            user_id=found_user.id,
            role_id=found_role.id,
            scope_id=scope_id,
            assign_account=assign_account,
            created_by=actor,
        )
        repo.add(row)
        uow.audit.record(
            tenant_id,
            actor,
            "assignment.create",
            "assignment",
            row.id,
            after=describe_assignment(row, found_role.role.ref),
        )
        propagation.user_changed(uow, tenant_id, found_user.id)
        return row, found_role.role.ref


def delete_assignment(uow: UnitOfWork, tenant_id: str, assignment_id: str, actor: str) -> str:
    """Delete a direct assignment; returns the user id whose set must be recomputed."""
    with uow:
        row, role_key = _existing(uow, tenant_id, assignment_id)
        before = describe_assignment(row, role_key)
        uow.assignments.remove(row)
        uow.audit.record(
            tenant_id,
            actor,
            "assignment.delete",
            "assignment",
            assignment_id,
            before=before,
        )
        propagation.user_changed(uow, tenant_id, before["user_id"])
        return before["user_id"]


def _existing(uow: UnitOfWork, tenant_id: str, assignment_id: str) -> Listed:
    found = uow.assignments.get(tenant_id, assignment_id)
    if found is None:
        raise NotFound("not_found", f"no assignment {assignment_id!r}", "assignment_id")
    return found


def _user(uow: UnitOfWork, tenant_id: str, ref: str) -> FoundUser:
    found = uow.assignments.find_user(tenant_id, ref)
    if found is None:
        raise NotFound("not_found", f"no user with id, userName or externalId {ref!r}", "user")
    return found
