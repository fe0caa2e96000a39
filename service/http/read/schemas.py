from __future__ import annotations

from marshmallow import Schema, fields, validate

# A scope as apps name it in a read (an id, or a path of ids).
SCOPE_LENGTH = 200


class CheckSchema(Schema):
    user = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "SCIM id, userName or externalId"},
    )
    area = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={
            "description": "The area's ref (product/key), or its key: with `product`, or "
            "alone when the user holds an area of that key in one product only"
        },
    )
    level = fields.String(required=True, validate=validate.Length(min=1, max=200))
    scope = fields.String(required=True, validate=validate.Length(min=1, max=SCOPE_LENGTH))
    product = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "The product whose area `area` names"},
    )


class CheckRequestSchema(Schema):
    checks = fields.List(
        fields.Nested(CheckSchema), required=True, validate=validate.Length(min=1, max=500)
    )
    min_version = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=2**63 - 1),
        metadata={"description": "Answer from a set at least this new (microseconds)"},
    )


class CheckResultSchema(Schema):
    user = fields.String()
    area = fields.String(metadata={"description": "The area checked, as its ref product/key"})
    level = fields.String()
    scope = fields.String()
    allowed = fields.Boolean()
    version = fields.Integer(metadata={"description": "Version of the set that answered"})
    reason = fields.String(metadata={"description": "Why it is false, when not just denied"})


class CheckResponseSchema(Schema):
    results = fields.List(fields.Nested(CheckResultSchema))
