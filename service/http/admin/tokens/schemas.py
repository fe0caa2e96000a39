from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import QuerySchema
from service.http.limits import fits
from service.persistence.models import ApiToken
from service.services.tokens import TokenKind


class TokenSchema(Schema):
    id = fields.String(dump_only=True)
    kind = fields.String(dump_only=True)
    prefix = fields.String(
        dump_only=True, metadata={"description": "First characters, to tell tokens apart"}
    )
    description = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    expires_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    rotated_to_id = fields.String(dump_only=True, allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(
        dump_only=True, metadata={"description": "The token itself. Shown this once only."}
    )


class TokenCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in TokenKind]))
    description = fields.String(load_default="", validate=fits(ApiToken.description))


class TokenRotateSchema(Schema):
    overlap_seconds = fields.Integer(
        load_default=3600,
        validate=validate.Range(min=0, max=30 * 24 * 3600),
        metadata={"description": "How long the old token keeps working"},
    )


class TokenQuerySchema(QuerySchema):
    revoked = fields.Boolean(
        load_default=False,
        metadata={
            "description": "false (the default): the live tokens, expired ones included; "
            "true: the revoked ones only"
        },
    )
