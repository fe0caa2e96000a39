"""Admin API: why a user has (or lacks) a permission, and the live permissions body.

`GET /api/v1/users/{ref}/permissions` itself is served by service.http.read for
both kinds of token: `read` tokens get the cached set, `admin` tokens get
`user_permissions.permissions_of`, computed from the database with its assignments
and conflicts.
"""

from __future__ import annotations

from typing import Any

from service.http.admin.users.schemas import (
    ExplainQuerySchema,
    ExplanationSchema,
)
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import user_permissions
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "users",
    __name__,
    url_prefix="/api/v1/users",
    description="Effective permissions of users, and explanations",
)


@blueprint.route("/<ref>/explain")
@blueprint.arguments(ExplainQuerySchema, location="query")
@blueprint.response(200, ExplanationSchema)
@requires(TokenKind.ADMIN)
def explain(query: dict[str, Any], ref: str) -> dict[str, Any]:
    """Explain why a user has or lacks a permission

    Why the user has (or lacks) area at level on scope, naming every chain group -> mapping -> role
    -> scope, or the nearest miss.
    """
    return user_permissions.explain(
        uow(),
        caller().tenant_id,
        ref,
        query["area"],
        query["level"],
        query["scope"],
        query["product"],
    )
