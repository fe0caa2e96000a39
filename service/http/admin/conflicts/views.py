"""Admin API: account conflicts, derived on every read from the current state.

A conflict is never stored, so one whose cause has gone (the clashing mapping
deleted, the user out of the group, the account moved) is simply not listed.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from service.http.admin.conflicts.schemas import ConflictQuerySchema, ConflictSchema
from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.auth import requires
from service.http.context import caller, unit_of_work
from service.services import effective
from service.services.permission_model import load_model
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
    tenant_id = caller().tenant_id
    with unit_of_work() as session:
        model = load_model(session, tenant_id)
        user_id = (
            effective.resolve_user_ref(session, tenant_id, query["user"])
            if "user" in query
            else None
        )
        records = [
            r
            for r in effective.account_conflicts(session, tenant_id, model)
            if (user_id is None or r.user_id == user_id)
            and r.conflict.rule.value == query.get("rule", r.conflict.rule.value)
            and r.conflict.account_id == query.get("account_id", r.conflict.account_id)
            and r.conflict.origin == query.get("mapping_id", r.conflict.origin)
        ]
        pagination_parameters.item_count = len(records)
        start = (pagination_parameters.page - 1) * pagination_parameters.page_size
        page = records[start : start + pagination_parameters.page_size]
        names = effective.user_names(session, tenant_id, [r.user_id for r in page])
    out = []
    for r in page:
        account = model.tree.find(r.conflict.account_id)
        mapping = r.mapping
        out.append(
            {
                **r.conflict.to_dict(),
                "user_id": r.user_id,
                "user_name": names.get(r.user_id),
                "account_name": None if account is None else account.name,
                "mapping": None
                if mapping is None
                else {
                    "id": mapping.id,
                    "group": {"kind": mapping.group.kind.value, "value": mapping.group.value},
                    "role_key": mapping.role_key,
                    "scope_id": mapping.scope_id,
                },
            }
        )
    return out
