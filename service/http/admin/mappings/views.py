"""Admin API: mappings from IdP groups to roles at scopes."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.mappings.schemas import (
    MappingCreateSchema,
    MappingDetailSchema,
    MappingQuerySchema,
    MappingSchema,
    MappingUpdateSchema,
)
from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.previews.schemas import MASS_REVOCATION, ConfirmQuerySchema
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint, ErrorSchema
from service.persistence.permission_models import MappingRow
from service.services import mappings, previews
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "mappings", __name__, url_prefix="/api/v1/mappings", description="IdP group -> role at scope"
)


def _shown(row: MappingRow, role_ref: str) -> dict[str, Any]:
    return {**mappings.describe_mapping(row, role_ref), "created_at": row.created_at}


def _detail(detail: mappings.MappingDetail) -> dict[str, Any]:
    return {**_shown(detail.row, detail.role_ref), "matched_groups": detail.matched_groups}


@blueprint.route("")
@blueprint.arguments(MappingQuerySchema, location="query")
@blueprint.response(200, MappingSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_mappings(
    query: dict[str, Any], pagination_parameters: PaginationParameters
) -> list[dict[str, Any]]:
    """List mappings from IdP groups to roles"""
    rows, total = mappings.list_mappings(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return [_shown(row, key) for row, key in rows]


@blueprint.route("", methods=["POST"])
@blueprint.arguments(MappingCreateSchema)
@blueprint.arguments(ConfirmQuerySchema, location="query")
@blueprint.response(201, MappingDetailSchema)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def create_mapping(body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """Map an IdP group to a role at a scope

    The group may be named by SCIM id, externalId or displayName, so a mapping can exist before the
    IdP pushes the group. Its members' assignments follow.
    """
    return _detail(_apply("mapping.create", body, query))


@blueprint.route("/<mapping_id>")
@blueprint.response(200, MappingDetailSchema)
@requires(TokenKind.ADMIN)
def get_mapping(mapping_id: str) -> dict[str, Any]:
    """Read a mapping and the group it names"""
    return _detail(mappings.get_mapping(uow(), caller().tenant_id, mapping_id))


@blueprint.route("/<mapping_id>", methods=["PATCH"])
@blueprint.arguments(MappingUpdateSchema)
@blueprint.arguments(ConfirmQuerySchema, location="query")
@blueprint.response(200, MappingDetailSchema)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def update_mapping(body: dict[str, Any], query: dict[str, Any], mapping_id: str) -> dict[str, Any]:
    """Change a mapping"""
    return _detail(_apply("mapping.update", {**body, "mapping_id": mapping_id}, query))


@blueprint.route("/<mapping_id>", methods=["DELETE"])
@blueprint.arguments(ConfirmQuerySchema, location="query")
@blueprint.response(204)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def delete_mapping(query: dict[str, Any], mapping_id: str) -> None:
    """Delete a mapping

    The access it gave the group's members goes with it.
    """
    _apply("mapping.delete", {"mapping_id": mapping_id}, query)


def _apply(kind: str, body: dict[str, Any], query: dict[str, Any]) -> Any:
    return previews.apply_change(
        uow(), caller().tenant_id, kind, body, caller().actor, confirm=query["confirm"]
    )
