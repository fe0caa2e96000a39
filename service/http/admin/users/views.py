"""Admin API: a user's effective permissions, and why they have (or lack) one.

The bodies are built by functions separate from the views, so that the read API
can serve the same permissions document to ``read`` tokens (from the cache)
without a second copy of its shape.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from service.domain import NotFound
from service.http.admin.users.schemas import (
    ExplainQuerySchema,
    ExplanationSchema,
    PermissionsQuerySchema,
    UserPermissionsSchema,
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


@blueprint.route("/<ref>/permissions")
@blueprint.arguments(PermissionsQuerySchema, location="query")
@blueprint.response(200, UserPermissionsSchema)
@requires(TokenKind.ADMIN)
def get_permissions(query: dict[str, Any], ref: str) -> dict[str, Any]:
    """ref is the user's SCIM id, userName or externalId."""
    with unit_of_work() as session:
        return permissions_body(session, caller().tenant_id, ref, query.get("scope"))


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
