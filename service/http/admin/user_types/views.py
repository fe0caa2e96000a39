"""Admin API: the tenant's user type table, which reads SCIM userType values as seed
001's four user types (service.services.user_types)."""

from __future__ import annotations

from typing import Any

from service.http.admin.user_types.schemas import UserTypesSchema, UserTypesUpdateSchema
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import user_types
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "user_types",
    __name__,
    url_prefix="/api/v1/user-types",
    description="How SCIM userType values read as the four user types",
)


@blueprint.route("")
@blueprint.response(200, UserTypesSchema)
@requires(TokenKind.ADMIN)
def get_table() -> dict[str, Any]:
    """Read the user type table

    The tenant's entries, the table they make with the defaults, and the values its users hold that
    map to no type.
    """
    return user_types.get_table(uow(), caller().tenant_id)


@blueprint.route("", methods=["PUT"])
@blueprint.arguments(UserTypesUpdateSchema)
@blueprint.response(200, UserTypesSchema)
@requires(TokenKind.ADMIN)
def set_table(body: dict[str, Any]) -> dict[str, Any]:
    """Replace the user type table

    Users whose userType now reads as another type (or none) are recomputed.
    """
    return user_types.set_table(uow(), caller().tenant_id, body["mappings"], caller().actor)
