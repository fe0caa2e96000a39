"""What an admin asks about one user: the live permission set with its assignments
and conflicts, and why the user has (or lacks) a permission. Both are computed from
the database, never from the cache, by the same code that produces the cached set.
Both show the user's type as the tenant's table reads it, with the userType the IdP
sent, so a value the table does not map is seen ("unmapped"), not silently absent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from service.domain import NotFound, resolve_ref
from service.persistence.unit_of_work import UnitOfWork
from service.services import effective
from service.services.permission_model import load_model


def permissions_of(uow: UnitOfWork, tenant_id: str, ref: str, scope: str | None) -> dict[str, Any]:
    """The user's live set, with the assignments and conflicts behind it, and (with
    `scope`) what it allows there."""
    with uow.reading() as session:
        return _body(session, tenant_id, ref, scope)


def _body(session: Session, tenant_id: str, ref: str, scope: str | None) -> dict[str, Any]:
    user_id = effective.resolve_user_ref(session, tenant_id, ref)
    model = load_model(session, tenant_id)
    result = effective.compute_user_permissions(session, tenant_id, user_id, model)
    at_scope = None
    if scope is not None:
        if scope not in model.tree:
            raise NotFound("not_found", f"scope {scope!r} does not exist", "scope")
        at_scope = {"scope_id": scope, "areas": result.permissions.for_scope(scope, model.tree)}
    return {
        **result.to_dict(),
        "user_name": effective.user_names(session, tenant_id, [user_id]).get(user_id),
        **result.type_reading.to_dict(),
        "assignments": [a.to_dict() for a in result.assignments.assignments],
        "conflicts": [c.to_dict() for c in result.assignments.conflicts],
        "at_scope": at_scope,
    }


def explain(
    uow: UnitOfWork,
    tenant_id: str,
    ref: str,
    area: str,
    level: str,
    scope: str,
    product: str | None = None,
) -> dict[str, Any]:
    """Why the user has (or lacks) `area` at `level` on `scope`, naming every chain
    group -> mapping -> role -> scope, or the nearest miss. `area` is a ref, or a key
    (of `product`, or of the one product that has it)."""
    with uow.reading() as session:
        user_id = effective.resolve_user_ref(session, tenant_id, ref)
        model = load_model(session, tenant_id)
        area = resolve_ref(area, product, model.areas)
        explanation, result = effective.explain_user(
            session, tenant_id, user_id, area, level, scope, model
        )
    return {**explanation.to_dict(), "active": result.active, **result.type_reading.to_dict()}


def user_names(uow: UnitOfWork, tenant_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """userName by SCIM id of the tenant's users among ``user_ids``, to show them in lists."""
    with uow.reading() as session:
        return effective.user_names(session, tenant_id, user_ids)
