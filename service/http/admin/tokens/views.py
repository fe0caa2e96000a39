"""Admin API: this tenant's API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.tokens.schemas import (
    IssuedTokenSchema,
    TokenCreateSchema,
    TokenQuerySchema,
    TokenRotateSchema,
    TokenSchema,
)
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import tokens
from service.services.tokens import TokenKind

blueprint = Blueprint("tokens", __name__, url_prefix="/api/v1/tokens", description="API tokens")


def _issued(issued: tokens.IssuedToken) -> dict[str, Any]:
    shown = {name: getattr(issued.token, name) for name in TokenSchema().fields}
    return {**shown, "token": issued.plaintext}


@blueprint.route("")
@blueprint.arguments(TokenQuerySchema, location="query")
@blueprint.response(200, TokenSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_tokens(query: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Any]:
    """List API tokens

    The tenant's live tokens; with ?revoked=true, its revoked ones instead. The tokens themselves
    are never shown again.
    """
    rows, total = tokens.page_of_tokens(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return rows


@blueprint.route("", methods=["POST"])
@blueprint.arguments(TokenCreateSchema)
@blueprint.response(201, IssuedTokenSchema)
@requires(TokenKind.ADMIN)
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """Create an API token

    The token is in this answer only; rolecall keeps its hash.
    """
    issued = tokens.issue_token(
        uow(), caller().tenant_id, body["kind"], body["description"], actor=caller().actor
    )
    return _issued(issued)


@blueprint.route("/<token_id>", methods=["DELETE"])
@blueprint.response(204)
@requires(TokenKind.ADMIN)
def revoke_token(token_id: str) -> None:
    """Revoke an API token at once"""
    # Once the revocation is committed the answer is success, even when this process
    # could not tell the others at once: the outbox does it (tokens.revoke).
    tokens.revoke(uow(), token_id, caller().tenant_id, actor=caller().actor)


@blueprint.route("/<token_id>/rotate", methods=["POST"])
@blueprint.arguments(TokenRotateSchema)
@blueprint.response(201, IssuedTokenSchema)
@requires(TokenKind.ADMIN)
def rotate_token(body: dict[str, Any], token_id: str) -> dict[str, Any]:
    """Rotate an API token

    Issues a replacement; the old token keeps working until the overlap ends.
    """
    issued = tokens.rotate(
        uow(),
        token_id,
        timedelta(seconds=body["overlap_seconds"]),
        caller().tenant_id,
        actor=caller().actor,
    )
    return _issued(issued)
