"""Admin API: direct assignments, a role given to a user at a scope by an admin."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.assignments.schemas import (
    AssignmentCreateSchema,
    AssignmentQuerySchema,
    AssignmentSchema,
)
from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.previews.schemas import MASS_REVOCATION, ConfirmQuerySchema
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint, ErrorSchema
from service.persistence.permission_models import AssignmentRow
from service.services import assignments, previews
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "assignments",
    __name__,
    url_prefix="/api/v1/assignments",
    description="Direct assignments made by admins",
)


def _shown(row: AssignmentRow, role_key: str) -> dict[str, Any]:
    return {**assignments.describe_assignment(row, role_key), "created_at": row.created_at}


@blueprint.route("")
@blueprint.arguments(AssignmentQuerySchema, location="query")
@blueprint.response(200, AssignmentSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_assignments(
    query: dict[str, Any], pagination_parameters: PaginationParameters
) -> list[dict[str, Any]]:
    """List direct assignments"""
    rows, total = assignments.list_assignments(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return [_shown(row, key) for row, key in rows]


@blueprint.route("", methods=["POST"])
@blueprint.arguments(AssignmentCreateSchema)
@blueprint.arguments(ConfirmQuerySchema, location="query")
@blueprint.response(201, AssignmentSchema)
@blueprint.alt_response(
    409,
    schema=ErrorSchema,
    description="The user holds the role there already (`duplicate`), or, with "
    "assign_account, an account rule refuses the membership (`reason`: the rule, seed "
    "001's): also when it would make the user lose an account held now, whatever its "
    "origin. `details` names the account it collides with (`blocking_account_id`) and "
    "where that came from (`blocking_origin_detail`: a direct assignment, or a mapping "
    "and its group).",
)
@requires(TokenKind.ADMIN)
def create_assignment(body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """Give a user a role at a scope

    A direct assignment, made by an admin; assignments derived from mappings are made and removed by
    rolecall only.
    """
    row, key = previews.apply_change(
        uow(), caller().tenant_id, "assignment.create", body, caller().actor,
        confirm=query["confirm"],
    )  # fmt: skip
    return _shown(row, key)


@blueprint.route("/<assignment_id>")
@blueprint.response(200, AssignmentSchema)
@requires(TokenKind.ADMIN)
def get_assignment(assignment_id: str) -> dict[str, Any]:
    """Read a direct assignment"""
    row, key = assignments.get_assignment(uow(), caller().tenant_id, assignment_id)
    return _shown(row, key)


@blueprint.route("/<assignment_id>", methods=["DELETE"])
@blueprint.arguments(ConfirmQuerySchema, location="query")
@blueprint.response(204)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def delete_assignment(query: dict[str, Any], assignment_id: str) -> None:
    """Remove a direct assignment"""
    previews.apply_change(
        uow(), caller().tenant_id, "assignment.delete", {"assignment_id": assignment_id},
        caller().actor, confirm=query["confirm"],
    )  # fmt: skip
