"""Admin API: the tenant's default product (and its default role) and account rules."""

from __future__ import annotations

from typing import Any

from service.http.admin.permission_settings.schemas import (
    PermissionSettingsSchema,
    PermissionSettingsUpdateSchema,
)
from service.http.admin.previews.schemas import MASS_REVOCATION, ConfirmQuerySchema
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint, ErrorSchema
from service.services import permission_settings, previews
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "permission_settings",
    __name__,
    url_prefix="/api/v1/settings/permissions",
    description="The tenant's default product, its default role, and account rules",
)


@blueprint.route("")
@blueprint.response(200, PermissionSettingsSchema)
@requires(TokenKind.ADMIN)
def get_settings() -> dict[str, Any]:
    """Read the default product, its default role and the account rules"""
    return permission_settings.get_settings(uow(), caller().tenant_id)


@blueprint.route("", methods=["PUT"])
@blueprint.arguments(PermissionSettingsUpdateSchema)
@blueprint.arguments(ConfirmQuerySchema, location="query")
@blueprint.response(200, PermissionSettingsSchema)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def update_settings(body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """Change the default product, default role or account rules

    Fields left out of the body are left as they are.
    """
    return previews.apply_change(
        uow(),
        caller().tenant_id,
        "settings.update",
        body,
        caller().actor,
        confirm=query["confirm"],
    )
