"""Admin API: webhooks told of every change to a user's permission set."""

from __future__ import annotations

from typing import Any

from service.http.admin.webhooks.schemas import (
    CreatedWebhookSchema,
    WebhookCreateSchema,
    WebhookSchema,
)
from service.http.auth import requires
from service.http.context import caller, runtime, uow
from service.http.smorest import Blueprint
from service.services import webhooks
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Permission-change webhooks (signed with HMAC-SHA256)",
)


@blueprint.route("")
@blueprint.response(200, WebhookSchema(many=True))
@requires(TokenKind.ADMIN)
def list_webhooks() -> list[dict[str, Any]]:
    return [webhooks.describe(w) for w in webhooks.list_webhooks(uow(), caller().tenant_id)]


@blueprint.route("", methods=["POST"])
@blueprint.arguments(WebhookCreateSchema)
@blueprint.response(201, CreatedWebhookSchema)
@requires(TokenKind.ADMIN)
def create_webhook(body: dict[str, Any]) -> dict[str, Any]:
    created = webhooks.create_webhook(
        uow(),
        caller().tenant_id,
        body["url"],
        body["description"],
        caller().actor,
        runtime().settings.secret_key,
    )
    return {**webhooks.describe(created.webhook), "secret": created.secret}


@blueprint.route("/<webhook_id>", methods=["DELETE"])
@blueprint.response(204)
@requires(TokenKind.ADMIN)
def revoke_webhook(webhook_id: str) -> None:
    webhooks.revoke_webhook(uow(), caller().tenant_id, webhook_id, caller().actor)
