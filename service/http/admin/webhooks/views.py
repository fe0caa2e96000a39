"""Admin API: webhooks told of every change to a user's permission set, in the order of
the tenant's change feed."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.webhooks.schemas import (
    CreatedWebhookSchema,
    WebhookCreateSchema,
    WebhookQuerySchema,
    WebhookSchema,
)
from service.http.auth import requires
from service.http.context import caller, runtime, uow
from service.http.smorest import Blueprint
from service.services import webhooks
from service.services.tokens import TokenKind
from service.services.webhook_destinations import DestinationPolicy

blueprint = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Permission-change webhooks (signed with HMAC-SHA256)",
)


def _shown(view: webhooks.WebhookView) -> dict[str, Any]:
    return webhooks.describe(view.webhook, view.held_deliveries)


@blueprint.route("")
@blueprint.arguments(WebhookQuerySchema, location="query")
@blueprint.response(200, WebhookSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_webhooks(
    query: dict[str, Any], pagination_parameters: PaginationParameters
) -> list[dict[str, Any]]:
    """List webhooks and their health"""
    views, total = webhooks.list_webhooks(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return [_shown(view) for view in views]


@blueprint.route("", methods=["POST"])
@blueprint.arguments(WebhookCreateSchema)
@blueprint.response(201, CreatedWebhookSchema)
@requires(TokenKind.ADMIN)
def create_webhook(body: dict[str, Any]) -> dict[str, Any]:
    """Register a webhook

    The signing secret is in this answer only.
    """
    settings = runtime().settings
    created = webhooks.create_webhook(
        uow(),
        caller().tenant_id,
        body["url"],
        body["description"],
        caller().actor,
        settings.secret_key,
        DestinationPolicy.from_settings(settings),
    )
    return {**webhooks.describe(created.webhook), "secret": created.secret}


@blueprint.route("/<webhook_id>")
@blueprint.response(200, WebhookSchema)
@requires(TokenKind.ADMIN)
def get_webhook(webhook_id: str) -> dict[str, Any]:
    """Read a webhook and its health"""
    return _shown(webhooks.get_webhook(uow(), caller().tenant_id, webhook_id))


@blueprint.route("/<webhook_id>/resume", methods=["POST"])
@blueprint.response(200, WebhookSchema)
@requires(TokenKind.ADMIN)
def resume_webhook(webhook_id: str) -> dict[str, Any]:
    """Close the breaker: clear the failures and send what the endpoint missed

    Every change after the webhook's feed cursor is sent, in order (or, when the
    cursor is behind the feed's retained window, every current set from a snapshot,
    then the changes after it).
    """
    return _shown(webhooks.resume_webhook(uow(), caller().tenant_id, webhook_id, caller().actor))


@blueprint.route("/<webhook_id>", methods=["DELETE"])
@blueprint.response(204)
@requires(TokenKind.ADMIN)
def revoke_webhook(webhook_id: str) -> None:
    """Remove a webhook"""
    webhooks.revoke_webhook(uow(), caller().tenant_id, webhook_id, caller().actor)
