"""Admin API: the append-only audit log, newest first."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.audit.schemas import AuditEventSchema, AuditQuerySchema
from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import audit
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "audit", __name__, url_prefix="/api/v1/audit", description="Who changed what, when"
)


@blueprint.route("")
@blueprint.arguments(AuditQuerySchema, location="query")
@blueprint.response(200, AuditEventSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_events(query: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Any]:
    """List audit events, newest first"""
    rows, total = audit.list_events(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return rows
