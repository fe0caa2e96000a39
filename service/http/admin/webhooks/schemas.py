from __future__ import annotations

from marshmallow import Schema, fields, validate


class WebhookSchema(Schema):
    id = fields.String(dump_only=True)
    url = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class CreatedWebhookSchema(WebhookSchema):
    secret = fields.String(
        dump_only=True,
        metadata={"description": "Verifies X-Rolecall-Signature. Shown this once only."},
    )


class WebhookCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    description = fields.String(load_default="", validate=validate.Length(max=200))
