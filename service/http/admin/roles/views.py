"""Admin API: roles, bundles of area grants."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.previews.schemas import MASS_REVOCATION, ConfirmQuerySchema
from service.http.admin.products.schemas import ProductQuerySchema
from service.http.admin.roles.schemas import RoleQuerySchema, RoleSchema, RoleUpdateSchema
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint, ErrorSchema
from service.services import previews, roles
from service.services.tokens import TokenKind


class RoleUpdateQuerySchema(ProductQuerySchema, ConfirmQuerySchema):
    """The role's product, and the brake's confirmation."""


blueprint = Blueprint("roles", __name__, url_prefix="/api/v1/roles", description="Roles")


@blueprint.route("")
@blueprint.arguments(RoleQuerySchema, location="query")
@blueprint.response(200, RoleSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_roles(query: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Any]:
    """List roles"""
    rows, total = roles.list_roles(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return rows


@blueprint.route("", methods=["POST"])
@blueprint.arguments(RoleSchema)
@blueprint.response(201, RoleSchema)
@requires(TokenKind.ADMIN)
def create_role(body: dict[str, Any]) -> Any:
    """Create a role

    A role bundles area grants, names the scope types it may be granted at, and whether it reaches
    below its scope.
    """
    return roles.create_role(uow(), caller().tenant_id, body, caller().actor)


@blueprint.route("/<key>")
@blueprint.arguments(ProductQuerySchema, location="query")
@blueprint.response(200, RoleSchema)
@requires(TokenKind.ADMIN)
def get_role(query: dict[str, Any], key: str) -> Any:
    """Read a role"""
    return roles.get_role(uow(), caller().tenant_id, key, query.get("product"))


@blueprint.route("/<key>", methods=["PATCH"])
@blueprint.arguments(RoleUpdateSchema)
@blueprint.arguments(RoleUpdateQuerySchema, location="query")
@blueprint.response(200, RoleSchema)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def update_role(body: dict[str, Any], query: dict[str, Any], key: str) -> Any:
    """Change a role"""
    change = {**body, "role": key, "product": query.get("product")}
    return previews.apply_change(
        uow(), caller().tenant_id, "role.update", change, caller().actor, confirm=query["confirm"]
    )


@blueprint.route("/<key>", methods=["DELETE"])
@blueprint.arguments(ProductQuerySchema, location="query")
@blueprint.response(204)
@requires(TokenKind.ADMIN)
def delete_role(query: dict[str, Any], key: str) -> None:
    """Delete a role

    A role still in use (by a mapping, a direct assignment or as a default role) is refused with 409
    naming the use.
    """
    roles.delete_role(uow(), caller().tenant_id, key, caller().actor, query.get("product"))
