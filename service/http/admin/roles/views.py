"""Admin API: roles, bundles of area grants."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.roles.schemas import RoleQuerySchema, RoleSchema, RoleUpdateSchema
from service.http.auth import requires
from service.http.context import caller, unit_of_work
from service.services import roles
from service.services.tokens import TokenKind

blueprint = Blueprint("roles", __name__, url_prefix="/api/v1/roles", description="Roles")


@blueprint.route("")
@blueprint.arguments(RoleQuerySchema, location="query")
@blueprint.response(200, RoleSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_roles(query: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Any]:
    with unit_of_work() as session:
        rows, total = roles.list_roles(
            session,
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
    with unit_of_work() as session:
        return roles.create_role(session, caller().tenant_id, body, caller().actor)


@blueprint.route("/<key>")
@blueprint.response(200, RoleSchema)
@requires(TokenKind.ADMIN)
def get_role(key: str) -> Any:
    with unit_of_work() as session:
        return roles.get_role(session, caller().tenant_id, key)


@blueprint.route("/<key>", methods=["PATCH"])
@blueprint.arguments(RoleUpdateSchema)
@blueprint.response(200, RoleSchema)
@requires(TokenKind.ADMIN)
def update_role(body: dict[str, Any], key: str) -> Any:
    with unit_of_work() as session:
        return roles.update_role(session, caller().tenant_id, key, body, caller().actor)


@blueprint.route("/<key>", methods=["DELETE"])
@blueprint.response(204)
@requires(TokenKind.ADMIN)
def delete_role(key: str) -> None:
    with unit_of_work() as session:
        roles.delete_role(session, caller().tenant_id, key, caller().actor)
