"""Provisioning log: one row per SCIM operation an IdP sent (time, IdP, operation,
resource, outcome, reason), newest first, found by a plain GET form of filters and
read a page at a time."""

from __future__ import annotations

from math import ceil
from typing import Any

from flask import request

from service.http.admin.paging import page_field
from service.http.admin.provisioning_log.schemas import ProvisioningQuerySchema
from service.http.console.blueprint import blueprint, parse_form, render, tenant_id
from service.http.context import uow
from service.metrics import IDP_NAMES
from service.persistence.repositories.audit import Outcome
from service.services import provisioning_log as log
from service.services.provisioning_log import OPERATIONS, RESOURCE_TYPES

PER_PAGE = 50
FILTERS = ("outcome", "operation", "resource_type", "idp", "reason_contains")
OUTCOME_LABELS = {
    Outcome.APPLIED.value: "applied",
    Outcome.NO_CHANGE.value: "no change",
    Outcome.REJECTED.value: "rejected",
    Outcome.MEMBER_SKIPPED.value: "member skipped",
}


class PageQuerySchema(ProvisioningQuerySchema):
    """The API's filters, and the page number the console's pager links carry."""

    page = page_field()


@blueprint.route("/provisioning")
def provisioning_log() -> tuple[str, int]:
    query, errors = parse_form(PageQuerySchema(), request.args)
    entries: list[Any] = []
    total = 0
    page = query.pop("page", 1)
    if not errors:
        entries, total = log.list_operations(
            uow(), tenant_id(), page=page, per_page=PER_PAGE, **query
        )
    chosen = {name: request.args.get(name, "") for name in FILTERS}
    filtered = {name: value for name, value in chosen.items() if value}
    return render(
        "provisioning_log.html",
        200 if not errors else 422,
        entries=entries,
        total=total,
        page=page,
        pages=max(1, ceil(total / PER_PAGE)),
        chosen=chosen,
        filtered=filtered,
        errors=errors,
        outcomes=OUTCOME_LABELS,
        operations=OPERATIONS,
        resource_types=RESOURCE_TYPES,
        idps=IDP_NAMES,
    )
