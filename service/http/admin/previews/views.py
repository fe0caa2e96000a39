"""Admin API: what if. Previews of permission-moving changes, and their staged apply."""

from __future__ import annotations

from typing import Any

from service.http.admin.previews.schemas import (
    PreviewApplySchema,
    PreviewCreateSchema,
    PreviewSchema,
    PreviewUsersPageSchema,
    PreviewUsersQuerySchema,
    PreviewWithUsersSchema,
)
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint, ErrorSchema
from service.services import previews
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "previews",
    __name__,
    url_prefix="/api/v1/previews",
    description="What if: what a permission-moving change would do, before doing it",
)


@blueprint.route("", methods=["POST"])
@blueprint.arguments(PreviewCreateSchema)
@blueprint.response(201, PreviewWithUsersSchema)
@requires(TokenKind.ADMIN)
def create_preview(body: dict[str, Any]) -> dict[str, Any]:
    """Preview a change

    Runs the change with the same code as its own endpoint, in a transaction that is
    rolled back, and answers what it would do: counts first (users considered,
    gaining, losing; account conflicts appearing, resolving), then the first page of
    users whose access changes, each with the areas, levels and scopes gained and
    lost. An entry with `below: true` stands for every scope under `scope_id` down to,
    not including, those in `except_below`. Bad input is refused as the change's own
    endpoint refuses it, naming the field under `change`. The preview is kept for a
    day; apply it with POST /api/v1/previews/{id}/apply.
    """
    row = previews.create_preview(
        uow(), caller().tenant_id, body["kind"], body["change"], caller().actor
    )
    users, cursor = previews.page_of(row.users, None, previews.PAGE_SIZE)
    return {**previews.describe_preview(row), "users": users, "next_cursor": cursor}


@blueprint.route("/<preview_id>")
@blueprint.response(200, PreviewSchema)
@requires(TokenKind.ADMIN)
def get_preview(preview_id: str) -> dict[str, Any]:
    """Read a preview's counts

    The change, the permission model version it was computed at, its counts, and
    whether and when it was applied.
    """
    return previews.describe_preview(previews.get_preview(uow(), caller().tenant_id, preview_id))


@blueprint.route("/<preview_id>/users")
@blueprint.arguments(PreviewUsersQuerySchema, location="query")
@blueprint.response(200, PreviewUsersPageSchema)
@requires(TokenKind.ADMIN)
def preview_users(query: dict[str, Any], preview_id: str) -> dict[str, Any]:
    """Page through a preview's users

    The users whose access or account conflicts the change moves, sorted by user id,
    `limit` at a time; pass `next_cursor` as `cursor` for the next page.
    """
    users, cursor = previews.preview_users(
        uow(), caller().tenant_id, preview_id, query.get("cursor"), query["limit"]
    )
    return {"users": users, "next_cursor": cursor}


@blueprint.route("/<preview_id>/apply", methods=["POST"])
@blueprint.arguments(PreviewApplySchema)
@blueprint.response(200, PreviewSchema)
@blueprint.alt_response(
    409,
    schema=ErrorSchema,
    description="`preview_stale`: the tenant's permission model moved since the preview, "
    "or the change would now do something else (preview it again); `preview_applied`; "
    "`preview_expired`; `mass_revocation`: the change takes access from more users than "
    "the tenant's brake allows and `confirm` was not given (`details.counts`)",
)
@requires(TokenKind.ADMIN)
def apply_preview(body: dict[str, Any], preview_id: str) -> dict[str, Any]:
    """Apply a previewed change

    Applies exactly what was reviewed, with the change's own use case: refused with
    409 when the model or the change's effect moved since the preview. Goes through
    the tenant's brake on mass revocation like the change's own endpoint.
    """
    row = previews.apply_preview(
        uow(), caller().tenant_id, preview_id, caller().actor, confirm=body["confirm"]
    )
    return previews.describe_preview(row)
