"""Admin API: the provisioning log, one row per SCIM operation, newest first."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.provisioning_log.schemas import (
    ProvisioningEntrySchema,
    ProvisioningQuerySchema,
)
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import provisioning_log
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "provisioning_log",
    __name__,
    url_prefix="/api/v1/provisioning-log",
    description="What each SCIM operation an IdP sent did, and why",
)


@blueprint.route("")
@blueprint.arguments(ProvisioningQuerySchema, location="query")
@blueprint.response(200, ProvisioningEntrySchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_operations(
    query: dict[str, Any], pagination_parameters: PaginationParameters
) -> list[Any]:
    """List the SCIM operations an IdP sent, newest first

    One row per operation: when, which IdP (from its User-Agent), what it asked, the
    outcome (applied, no_change, rejected, member_skipped) and the reason."""
    entries, total = provisioning_log.list_operations(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return entries
