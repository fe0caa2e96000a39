"""The End-User Portal's API: people who sign themselves up (seed 001's self-registration),
called by the portal's server with a `portal` token, the only thing such a token may do."""

from __future__ import annotations

from typing import Any

from service.http.auth import Surface, requires
from service.http.context import caller, uow
from service.http.portal.schemas import RegisteredSchema, RegistrationSchema
from service.http.smorest import Blueprint
from service.services import self_registration

blueprint = Blueprint(
    "self_registrations",
    __name__,
    url_prefix="/api/v1/self-registrations",
    description="Self-registration through an End-User Portal (portal tokens)",
)


@blueprint.route("", methods=["POST"])
@blueprint.arguments(RegistrationSchema)
@blueprint.response(201, RegisteredSchema)
@requires(Surface.PORTAL)
def register(body: dict[str, Any]) -> dict[str, Any]:
    """Register a person who signed up

    A new self-registered account for their company (or the existing self-registered account they
    name), their user (userType Self-Registered, visible through SCIM) and their membership of the
    account, with a role, all in one transaction. A userName already taken is 409 naming user_name.
    """
    registration = self_registration.Registration(**body)
    return self_registration.register(uow(), caller().tenant_id, registration, caller().actor)
