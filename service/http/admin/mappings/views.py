"""Admin API: mappings from IdP groups to roles at scopes."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy.orm import Session

from service.domain import GroupRef
from service.http.admin.mappings.schemas import (
    MappingCreateSchema,
    MappingDetailSchema,
    MappingQuerySchema,
    MappingSchema,
    MappingUpdateSchema,
)
from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.auth import requires
from service.http.context import caller, unit_of_work
from service.persistence.permission_models import MappingRow
from service.services import mappings
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "mappings", __name__, url_prefix="/api/v1/mappings", description="IdP group -> role at scope"
)


def _shown(row: MappingRow, role_key: str) -> dict[str, Any]:
    return {**mappings.describe_mapping(row, role_key), "created_at": row.created_at}


def _detail(session: Session, row: MappingRow, role_key: str) -> dict[str, Any]:
    ref = GroupRef(row.group_kind, row.group_value)
    matched = mappings.matching_groups(session, caller().tenant_id, ref)
    return {**_shown(row, role_key), "matched_groups": matched}


@blueprint.route("")
@blueprint.arguments(MappingQuerySchema, location="query")
@blueprint.response(200, MappingSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_mappings(
    query: dict[str, Any], pagination_parameters: PaginationParameters
) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        rows, total = mappings.list_mappings(
            session,
            caller().tenant_id,
            page=pagination_parameters.page,
            per_page=pagination_parameters.page_size,
            **query,
        )
    pagination_parameters.item_count = total
    return [_shown(row, key) for row, key in rows]


@blueprint.route("", methods=["POST"])
@blueprint.arguments(MappingCreateSchema)
@blueprint.response(201, MappingDetailSchema)
@requires(TokenKind.ADMIN)
def create_mapping(body: dict[str, Any]) -> dict[str, Any]:
    with unit_of_work() as session:
        row, key = mappings.create_mapping(session, caller().tenant_id, body, caller().actor)
        return _detail(session, row, key)


@blueprint.route("/<mapping_id>")
@blueprint.response(200, MappingDetailSchema)
@requires(TokenKind.ADMIN)
def get_mapping(mapping_id: str) -> dict[str, Any]:
    with unit_of_work() as session:
        row, key = mappings.get_mapping(session, caller().tenant_id, mapping_id)
        return _detail(session, row, key)


@blueprint.route("/<mapping_id>", methods=["PATCH"])
@blueprint.arguments(MappingUpdateSchema)
@blueprint.response(200, MappingDetailSchema)
@requires(TokenKind.ADMIN)
def update_mapping(body: dict[str, Any], mapping_id: str) -> dict[str, Any]:
    with unit_of_work() as session:
        row, key = mappings.update_mapping(
            session, caller().tenant_id, mapping_id, body, caller().actor
        )
        return _detail(session, row, key)


@blueprint.route("/<mapping_id>", methods=["DELETE"])
@blueprint.response(204)
@requires(TokenKind.ADMIN)
def delete_mapping(mapping_id: str) -> None:
    with unit_of_work() as session:
        mappings.delete_mapping(session, caller().tenant_id, mapping_id, caller().actor)
