"""Admin API: the tenant's settings for self-registration (where new accounts go, which
roles a registration gives)."""

from __future__ import annotations

from typing import Any

from service.http.admin.self_registration.schemas import SelfRegistrationSettingsSchema
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import self_registration
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "self_registration_settings",
    __name__,
    url_prefix="/api/v1/settings/self-registration",
    description="Where self-registered accounts go and which roles registrations give",
)


@blueprint.route("")
@blueprint.response(200, SelfRegistrationSettingsSchema)
@requires(TokenKind.ADMIN)
def get_settings() -> dict[str, Any]:
    """Read the self-registration settings"""
    return self_registration.get_settings(uow(), caller().tenant_id)


@blueprint.route("", methods=["PUT"])
@blueprint.arguments(SelfRegistrationSettingsSchema)
@blueprint.response(200, SelfRegistrationSettingsSchema)
@requires(TokenKind.ADMIN)
def update_settings(body: dict[str, Any]) -> dict[str, Any]:
    """Change the self-registration settings

    Fields left out of the body are left as they are; the scope and the roles must exist, and the
    roles must be grantable at a self-registered account.
    """
    return self_registration.update_settings(uow(), caller().tenant_id, body, caller().actor)
