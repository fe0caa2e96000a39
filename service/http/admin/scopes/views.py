"""Admin API: the scope tree, and the scope types a tenant declares."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.previews.schemas import MASS_REVOCATION, ConfirmQuerySchema
from service.http.admin.scopes.schemas import (
    ScopeCreateSchema,
    ScopeDeleteQuerySchema,
    ScopeDeletionSchema,
    ScopeQuerySchema,
    ScopeSchema,
    ScopeTypeSchema,
    ScopeUpdateSchema,
)
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint, ErrorSchema
from service.services import previews, scopes
from service.services.tokens import TokenKind


class ScopeDeleteConfirmQuerySchema(ScopeDeleteQuerySchema, ConfirmQuerySchema):
    """Whether to delete the subtree too, and the brake's confirmation."""


blueprint = Blueprint("scopes", __name__, url_prefix="/api/v1/scopes", description="The scope tree")
types_blueprint = Blueprint(
    "scope_types",
    __name__,
    url_prefix="/api/v1/scope-types",
    description="Scope types: the built-in ones and those the tenant declares",
)


@blueprint.route("")
@blueprint.arguments(ScopeQuerySchema, location="query")
@blueprint.response(200, ScopeSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_scopes(query: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Any]:
    """List scopes"""
    rows, total = scopes.list_scopes(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return rows


@blueprint.route("", methods=["POST"])
@blueprint.arguments(ScopeCreateSchema)
@blueprint.response(201, ScopeSchema)
@requires(TokenKind.ADMIN)
def create_scope(body: dict[str, Any]) -> Any:
    """Create a scope under a parent"""
    return scopes.create_scope(uow(), caller().tenant_id, actor=caller().actor, **body)


@blueprint.route("/<scope_id>")
@blueprint.response(200, ScopeSchema)
@requires(TokenKind.ADMIN)
def get_scope(scope_id: str) -> Any:
    """Read a scope"""
    return scopes.get_scope(uow(), caller().tenant_id, scope_id)


@blueprint.route("/<scope_id>", methods=["PATCH"])
@blueprint.arguments(ScopeUpdateSchema)
@blueprint.arguments(ConfirmQuerySchema, location="query")
@blueprint.response(200, ScopeSchema)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def update_scope(body: dict[str, Any], query: dict[str, Any], scope_id: str) -> Any:
    """Rename or move a scope"""
    return previews.apply_change(
        uow(),
        caller().tenant_id,
        "scope.move" if "parent_id" in body else "scope.update",
        {**body, "scope_id": scope_id},
        caller().actor,
        confirm=query["confirm"],
    )


@blueprint.route("/<scope_id>", methods=["DELETE"])
@blueprint.arguments(ScopeDeleteConfirmQuerySchema, location="query")
@blueprint.response(200, ScopeDeletionSchema)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def delete_scope(query: dict[str, Any], scope_id: str) -> dict[str, Any]:
    """Delete a scope (with `subtree`, its descendants too)"""
    deleted = previews.apply_change(
        uow(),
        caller().tenant_id,
        "scope.delete",
        {"scope_id": scope_id, "cascade": query["cascade"]},
        caller().actor,
        confirm=query["confirm"],
    )
    return deleted.to_dict()


@types_blueprint.route("")
@types_blueprint.response(200, ScopeTypeSchema(many=True))
@requires(TokenKind.ADMIN)
def list_scope_types() -> list[dict[str, Any]]:
    """List scope types"""
    return scopes.list_scope_types(uow(), caller().tenant_id)


@types_blueprint.route("", methods=["POST"])
@types_blueprint.arguments(ScopeTypeSchema)
@types_blueprint.response(201, ScopeTypeSchema)
@requires(TokenKind.ADMIN)
def declare_scope_type(body: dict[str, Any]) -> dict[str, Any]:
    """Declare a scope type"""
    return scopes.declare_scope_type(uow(), caller().tenant_id, body["key"], caller().actor)


@types_blueprint.route("/<key>", methods=["DELETE"])
@types_blueprint.response(204)
@requires(TokenKind.ADMIN)
def remove_scope_type(key: str) -> None:
    """Remove a declared scope type"""
    scopes.remove_scope_type(uow(), caller().tenant_id, key, caller().actor)
