"""Admin API: account conflicts, derived on every read from the current state.

A conflict is never stored, so one whose cause has gone (the clashing mapping
deleted, the user out of the group, the account moved) is simply not listed.
"""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.conflicts.schemas import ConflictQuerySchema, ConflictSchema
from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import conflicts
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "conflicts",
    __name__,
    url_prefix="/api/v1/conflicts",
    description="Account assignments refused by the account rules, and why",
)


@blueprint.route("")
@blueprint.arguments(ConflictQuerySchema, location="query")
@blueprint.response(200, ConflictSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_conflicts(
    query: dict[str, Any], pagination_parameters: PaginationParameters
) -> list[dict[str, Any]]:
    """List account conflicts

    Account assignments the account rules refused, with both origins: what the user holds and what
    was refused.
    """
    rows, total = conflicts.list_conflicts(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return rows
