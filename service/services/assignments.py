"""Use cases for direct assignments: an admin gives a user a role at a scope.

Direct assignments are the user's own rows, not part of the tenant's shared
model, so they do not bump the model version; the user's set is recomputed.
With ``assign_account`` the user also becomes a member of that account, under
seed 001's rules: a request that breaks one against the user's other direct
accounts is refused here with 409 naming the rule, since an admin's explicit
choice should fail loudly. (Mapped accounts never block a direct one: direct
requests win, and the mapped one becomes the listed conflict.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import (
    AccountRequest,
    Conflict,
    NotFound,
    ValidationFailed,
    check_grantable,
    resolve_account_assignments,
)
from service.persistence.permission_models import AssignmentRow, RoleRow
from service.persistence.scim_models import ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation
from service.services.audit import record
from service.services.effective import resolve_user_ref, user_type_of
from service.services.listing import paginate
from service.services.permission_model import TenantModel, load_model


def describe_assignment(row: AssignmentRow, role_key: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "role_key": role_key,
        "scope_id": row.scope_id,
        "assign_account": row.assign_account,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


def get_assignment(
    uow: UnitOfWork, tenant_id: str, assignment_id: str
) -> tuple[AssignmentRow, str]:
    with uow.reading() as session:
        return _assignment_row(session, tenant_id, assignment_id)


def _assignment_row(
    session: Session, tenant_id: str, assignment_id: str
) -> tuple[AssignmentRow, str]:
    found = session.execute(
        select(AssignmentRow, RoleRow.key)
        .join(RoleRow, RoleRow.id == AssignmentRow.role_id)
        .where(AssignmentRow.tenant_id == tenant_id, AssignmentRow.id == assignment_id)
    ).first()
    if found is None:
        raise NotFound("not_found", f"no assignment {assignment_id!r}", "assignment_id")
    return found[0], found[1]


def list_assignments(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    page: int,
    per_page: int,
    user: str | None = None,
    role_key: str | None = None,
    scope_id: str | None = None,
) -> tuple[list[tuple[AssignmentRow, str]], int]:
    with uow.reading() as session:
        query = (
            select(AssignmentRow, RoleRow.key)
            .join(RoleRow, RoleRow.id == AssignmentRow.role_id)
            .where(AssignmentRow.tenant_id == tenant_id)
        )
        if user is not None:
            query = query.where(AssignmentRow.user_id == resolve_user_ref(session, tenant_id, user))
        if role_key is not None:
            query = query.where(RoleRow.key == role_key)
        if scope_id is not None:
            query = query.where(AssignmentRow.scope_id == scope_id)
        query = query.order_by(AssignmentRow.created_at, AssignmentRow.id)
        return paginate(session, query, page, per_page, scalars=False)


def create_assignment(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    user: str,
    role_key: str,
    scope_id: str,
    assign_account: bool = False,
    actor: str,
) -> tuple[AssignmentRow, str]:
    with uow:
        return assign(
            uow.session,
            tenant_id,
            user=user,
            role_key=role_key,
            scope_id=scope_id,
            assign_account=assign_account,
            actor=actor,
        )


def assign(
    session: Session,
    tenant_id: str,
    *,
    user: str,
    role_key: str,
    scope_id: str,
    assign_account: bool = False,
    actor: str,
) -> tuple[AssignmentRow, str]:
    """`create_assignment` inside a transaction the caller holds (a bulk invite's)."""
    try:
        user_id = resolve_user_ref(session, tenant_id, user)
    except NotFound as exc:
        raise ValidationFailed("unknown_user", exc.message, "user") from None
    model = load_model(session, tenant_id)
    role = model.roles.get(role_key)
    if role is None:
        raise ValidationFailed("unknown_role", f"role {role_key!r} does not exist", "role_key")
    scope = check_grantable(role, scope_id, model.tree)
    if assign_account and not scope.is_account:
        raise ValidationFailed(
            "not_an_account",
            f"assign_account needs an account scope; {scope.id!r} is a {scope.type}",
            "assign_account",
        )
    if session.scalar(
        select(AssignmentRow.id).where(
            AssignmentRow.tenant_id == tenant_id,
            AssignmentRow.user_id == user_id,
            AssignmentRow.role_id == model.role_ids[role_key],
            AssignmentRow.scope_id == scope_id,
        )
    ):
        raise Conflict(
            "duplicate", f"the user holds role {role_key!r} at {scope_id!r} already", "role_key"
        )
    if assign_account:
        _check_direct_account(session, tenant_id, user_id, scope_id, model)
    row = AssignmentRow(
        tenant_id=tenant_id,
        user_id=user_id,
        role_id=model.role_ids[role_key],
        scope_id=scope_id,
        assign_account=assign_account,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    after = describe_assignment(row, role_key)
    record(session, tenant_id, actor, "assignment.create", "assignment", row.id, after=after)
    propagation.user_changed(UnitOfWork.of(session), tenant_id, user_id)
    return row, role_key


def _check_direct_account(
    session: Session, tenant_id: str, user_id: str, scope_id: str, model: TenantModel
) -> None:
    raw_type = session.scalar(
        select(ScimUser.user_type).where(ScimUser.tenant_id == tenant_id, ScimUser.id == user_id)
    )
    held = [
        AccountRequest(sid, since=created)
        for sid, created in session.execute(
            select(AssignmentRow.scope_id, AssignmentRow.created_at).where(
                AssignmentRow.tenant_id == tenant_id,
                AssignmentRow.user_id == user_id,
                AssignmentRow.assign_account.is_(True),
            )
        )
    ]
    # The new request is the youngest, so it is the one refused on a clash.
    resolution = resolve_account_assignments(
        user_type_of(raw_type),
        [*held, AccountRequest(scope_id)],
        model.tree,
        model.account_rules,
    )
    if scope_id not in resolution.account_ids:
        conflict = next(c for c in resolution.conflicts if c.account_id == scope_id)
        raise Conflict(conflict.rule.value, conflict.message, "scope_id")


def delete_assignment(uow: UnitOfWork, tenant_id: str, assignment_id: str, actor: str) -> str:
    """Delete a direct assignment; returns the user id whose set must be recomputed."""
    with uow:
        session = uow.session
        row, role_key = _assignment_row(session, tenant_id, assignment_id)
        before = describe_assignment(row, role_key)
        session.delete(row)
        session.flush()
        record(
            session,
            tenant_id,
            actor,
            "assignment.delete",
            "assignment",
            assignment_id,
            before=before,
        )
        propagation.user_changed(UnitOfWork.of(session), tenant_id, before["user_id"])
        return before["user_id"]
