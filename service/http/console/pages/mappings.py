"""Mappings: "members of IdP group G get role R at scope S", listed, and an editor that
shows what a change would do before it is made.

Without JavaScript a change is two POSTs. The first previews it
(`previews.create_preview`: the change's own use case, run and rolled back) and shows
who gains and loses what, with the form still filled; the second applies that stored
preview by its id (`previews.apply_preview`), which refuses when the model or the
change's effect moved since, so what is saved is exactly what was reviewed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for

from service.http.admin.mappings.schemas import GROUP_KINDS, MappingCreateSchema
from service.http.admin.paging import PAGE_SIZE
from service.http.admin.previews.schemas import PreviewApplySchema
from service.http.console.blueprint import (
    FormErrors,
    actor,
    blueprint,
    page_number,
    parse_form,
    refused_into,
    render,
    tenant_id,
)
from service.http.console.pages.model import (
    role_choices,
    scope_choices,
    shown_beside,
)
from service.http.context import uow
from service.persistence.preview_models import PreviewRow
from service.services import mappings, previews
from service.services.permission_model import read_model

MAPPING_FIELDS = ("group.kind", "group.value", "role_key", "scope_id", "assign_account")
GROUP_KIND_LABELS = {"displayName": "displayName", "externalId": "externalId", "id": "SCIM id"}
# The previews this page makes and applies.
MAPPING_CHANGES = ("mapping.create", "mapping.delete")


def _mapping_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The editor's fields as the API's body: `group.kind` and `group.value` nest."""
    body: dict[str, Any] = {
        name: form[name] for name in ("role_key", "scope_id", "assign_account") if form.get(name)
    }
    body["group"] = {
        part: form[f"group.{part}"] for part in ("kind", "value") if form.get(f"group.{part}")
    }
    return body


def _form_of(change: dict[str, Any]) -> dict[str, Any]:
    """A previewed mapping.create change as the editor's fields, to show it filled."""
    group = change.get("group") or {}
    role = change.get("role_key", "")
    if change.get("product") and "/" not in role:
        role = f"{change['product']}/{role}"
    return {
        "group.kind": group.get("kind", ""),
        "group.value": group.get("value", ""),
        "role_key": role,
        "scope_id": change.get("scope_id", ""),
        "assign_account": "true" if change.get("assign_account") else "",
    }


def _shown_preview(row: PreviewRow) -> dict[str, Any]:
    users, _ = previews.page_of(row.users, None, previews.PAGE_SIZE)
    names = previews.scope_names(uow(), tenant_id())
    return {
        "id": row.id,
        "kind": row.kind,
        "change": row.change,
        "counts": row.counts,
        "users": users,
        "lines": previews.table(users, names),
        "more": len(row.users) - len(users),
    }


def _mappings_page(
    errors: FormErrors | None = None,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
    preview: dict[str, Any] | None = None,
    deleting: mappings.MappingDetail | None = None,
) -> tuple[str, int]:
    model = read_model(uow(), tenant_id())
    page = page_number()
    rows, total = mappings.list_mappings(uow(), tenant_id(), page=page, per_page=PAGE_SIZE)
    return render(
        "mappings.html",
        status,
        model=model,
        mappings=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        group_kinds=[(kind, GROUP_KIND_LABELS[kind]) for kind in GROUP_KINDS],
        roles=role_choices(model),
        scopes=scope_choices(model),
        errors=errors or FormErrors(),
        form=form or {},
        preview=preview,
        deleting=deleting,
    )


@blueprint.route("/mappings", endpoint="mappings")
def mappings_page() -> tuple[str, int]:
    return _mappings_page()


@blueprint.route("/mappings/preview", methods=["POST"])
def preview_mapping() -> tuple[str, int]:
    """What the mapping in the form would do, shown with the form still filled and a
    button that saves exactly this."""
    body, errors = parse_form(MappingCreateSchema(), _mapping_body(request.form))
    if not errors:
        with refused_into(errors):
            row = previews.create_preview(uow(), tenant_id(), "mapping.create", body, actor())
            return _mappings_page(form=request.form, preview=_shown_preview(row))
    return _mappings_page(shown_beside(errors, MAPPING_FIELDS), 422, request.form)


@blueprint.route("/mappings/<mapping_id>/delete", methods=["POST"])
def preview_mapping_delete(mapping_id: str) -> tuple[str, int]:
    """What deleting the mapping would do, with a button that deletes it."""
    detail = mappings.get_mapping(uow(), tenant_id(), mapping_id)  # another tenant's: 404
    row = previews.create_preview(
        uow(), tenant_id(), "mapping.delete", {"mapping_id": mapping_id}, actor()
    )
    return _mappings_page(preview=_shown_preview(row), deleting=detail)


@blueprint.route("/mappings/apply", methods=["POST"])
def apply_mapping_preview() -> Response | tuple[str, int]:
    """Make the previewed change, as reviewed; when it is refused (the model moved, the
    brake holds), the preview is shown again with why."""
    row = previews.get_preview(uow(), tenant_id(), request.form.get("preview_id", ""))
    if row.kind not in MAPPING_CHANGES:
        abort(404)
    body, errors = parse_form(PreviewApplySchema(), {"confirm": request.form.get("confirm", "")})
    if not errors:
        with refused_into(errors):
            previews.apply_preview(uow(), tenant_id(), row.id, actor(), confirm=body["confirm"])
            if row.kind == "mapping.create":
                group = row.change["group"]
                flash(
                    f"Mapping saved: members of group {group['value']} ({group['kind']}) get "
                    f"role {row.change['role_key']}; {row.counts['users_gaining']} user(s) "
                    "gained access."
                )
            else:
                flash(f"Mapping deleted; {row.counts['users_losing']} user(s) lost access.")
            return redirect(url_for("console.mappings"), code=303)
    deleting = None
    if row.kind == "mapping.delete":
        with refused_into(errors):
            deleting = mappings.get_mapping(uow(), tenant_id(), row.change["mapping_id"])
    form = _form_of(row.change) if row.kind == "mapping.create" else {}
    return _mappings_page(errors, 409, form, _shown_preview(row), deleting)
