"""Admin API: why a user has (or lacks) a permission, and the live permissions body.

`GET /api/v1/users/{ref}/permissions` itself is served by service.http.read for
both kinds of token: `read` tokens get the cached set, `admin` tokens get
`permissions_body`, computed from the database with its assignments and conflicts.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from service.domain import NotFound
from service.http.admin.users.schemas import (
    ExplainQuerySchema,
    ExplanationSchema,
)
from service.http.auth import requires
from service.http.context import caller, unit_of_work
from service.services import effective
from service.services.permission_model import load_model
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "users",
    __name__,
    url_prefix="/api/v1/users",
    description="Effective permissions of users, and explanations",
)


def permissions_body(
    session: Session, tenant_id: str, ref: str, scope: str | None
) -> dict[str, Any]:
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
        "user_type": None if result.user_type is None else result.user_type.value,
        "assignments": [a.to_dict() for a in result.assignments.assignments],
        "conflicts": [c.to_dict() for c in result.assignments.conflicts],
        "at_scope": at_scope,
    }


@blueprint.route("/<ref>/explain")
@blueprint.arguments(ExplainQuerySchema, location="query")
@blueprint.response(200, ExplanationSchema)
@requires(TokenKind.ADMIN)
def explain(query: dict[str, Any], ref: str) -> dict[str, Any]:
    """Why the user has (or lacks) area at level on scope, naming every chain
    group -> mapping -> role -> scope, or the nearest miss."""
    tenant_id = caller().tenant_id
    with unit_of_work() as session:
        user_id = effective.resolve_user_ref(session, tenant_id, ref)
        explanation, result = effective.explain_user(
            session, tenant_id, user_id, query["area"], query["level"], query["scope"]
        )
    return {**explanation.to_dict(), "active": result.active}
