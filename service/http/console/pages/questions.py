"""Questions: why a user has (or lacks) an area at a level on a scope, with the chains
that grant it or the nearest misses; and who can do an area at a level on a scope,
paged as the service pages it (a cursor, and a deadline per page). Plain GET forms:
an answer is a link that can be shared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import request

from service.domain import DomainError
from service.http.admin.questions.schemas import WhoCanQuerySchema
from service.http.admin.users.schemas import ExplainQuerySchema
from service.http.console.blueprint import FormErrors, blueprint, parse_form, render, tenant_id
from service.http.console.pages.model import scope_choices
from service.http.context import runtime, uow
from service.services import questions, user_permissions
from service.services.permission_model import TenantModel, read_model

T = TypeVar("T")

# A page of who-can answers in the console: enough to read, few enough to explain.
WHO_CAN_PAGE = 50


def _choices(model: TenantModel) -> dict[str, Any]:
    """The areas (by ref), the levels any area has, and the scopes, for the selects."""
    areas = sorted(
        ((ref, f"{area.name} ({ref})") for ref, area in model.areas.items()),
        key=lambda choice: choice[1].lower(),
    )
    levels = list(dict.fromkeys(level for a in model.areas.values() for level in a.levels))
    return {"areas": areas, "levels": levels, "scopes": scope_choices(model), "model": model}


def _asked(errors: FormErrors, call: Callable[[], T]) -> tuple[T | None, int]:
    """The service's answer, or its refusal beside the field it names, with its status
    (another tenant's user or scope is not found here: 404)."""
    try:
        return call(), 200
    except DomainError as refused:
        errors.add(refused.field, refused.message)
        return None, refused.status


@blueprint.route("/explain", endpoint="explain")
def explain_page() -> tuple[str, int]:
    model = read_model(uow(), tenant_id())
    asked = {k: v.strip() for k, v in request.args.items()}
    errors = FormErrors()
    answer: dict[str, Any] | None = None
    status = 200
    if asked:
        query, errors = parse_form(ExplainQuerySchema(), asked)
        if not asked.get("user"):
            errors.add("user", "Missing data for required field.")
        if errors:
            status = 422
        else:
            answer, status = _asked(
                errors,
                lambda: user_permissions.explain(
                    uow(),
                    tenant_id(),
                    asked["user"],
                    query["area"],
                    query["level"],
                    query["scope"],
                    query["product"],
                ),
            )
    return render(
        "explain.html", status, asked=asked, errors=errors, answer=answer, **_choices(model)
    )


@blueprint.route("/who-can", endpoint="who_can")
def who_can_page() -> tuple[str, int]:
    model = read_model(uow(), tenant_id())
    asked = {k: v.strip() for k, v in request.args.items()}
    errors = FormErrors()
    answer: questions.WhoCanPage | None = None
    status = 200
    names: dict[str, str] = {}
    if asked:
        query, errors = parse_form(WhoCanQuerySchema(), {"limit": str(WHO_CAN_PAGE), **asked})
        if not asked.get("scope_id"):
            errors.add("scope_id", "Missing data for required field.")
        if errors:
            status = 422
        else:
            answer, status = _asked(
                errors,
                lambda: questions.who_can(
                    uow(),
                    tenant_id(),
                    asked["scope_id"],
                    query["area"],
                    query["level"],
                    product=query["product"],
                    cursor=query["cursor"],
                    limit=query["limit"],
                    deadline_s=runtime().settings.questions_deadline_s(query["deadline_ms"]),
                ),
            )
    if answer is not None:
        names = {s.id: s.name for s in model.tree}
    return render(
        "who_can.html",
        status,
        asked=asked,
        errors=errors,
        answer=answer,
        scope_names=names,
        **_choices(model),
    )
