from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import QuerySchema


class WebhookSchema(Schema):
    id = fields.String(dump_only=True)
    url = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    state = fields.String(
        dump_only=True,
        validate=validate.OneOf(["active", "paused", "revoked"]),
        metadata={"description": "paused: it is sent nothing until it is resumed"},
    )
    consecutive_failures = fields.Integer(
        dump_only=True, metadata={"description": "Failed deliveries since the last success"}
    )
    paused_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When the breaker paused the endpoint"},
    )
    last_error = fields.String(dump_only=True, allow_none=True)
    last_failure_at = fields.DateTime(dump_only=True, allow_none=True)
    next_attempt_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When the failed change is tried again (the backoff)"},
    )
    feed_cursor = fields.String(
        dump_only=True,
        metadata={
            "description": "The last change of the tenant's feed (GET /api/v1/changes) "
            "the endpoint was sent; it is sent every change after it, in order"
        },
    )
    held_deliveries = fields.Integer(
        dump_only=True,
        metadata={
            "description": "At most this many changes are still to be sent: the feed's "
            "end minus feed_cursor (scope-tree changes are counted but not sent); "
            "a paused endpoint is sent them when it is resumed"
        },
    )


class CreatedWebhookSchema(WebhookSchema):
    secret = fields.String(
        dump_only=True,
        metadata={"description": "Verifies X-Rolecall-Signature. Shown this once only."},
    )


class WebhookCreateSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={
            "description": "https (http outside production); its host must resolve to "
            "public addresses, or to networks in ROLECALL_WEBHOOK_ALLOWED_NETWORKS"
        },
    )
    description = fields.String(load_default="", validate=validate.Length(max=200))


class WebhookQuerySchema(QuerySchema):
    revoked = fields.Boolean(metadata={"description": "Only revoked (true) or live (false)"})
    paused = fields.Boolean(metadata={"description": "Only paused (true) or not (false)"})
