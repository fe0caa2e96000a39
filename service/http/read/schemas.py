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


# -- the change feed (service.services.change_feed) ---------------------------------------

CURSOR_LENGTH = 19  # a cursor is a sequence number: at most a 64-bit integer's digits
FEED_LIMIT = validate.Range(min=1, max=1000)


def _after(description: str) -> fields.String:
    return fields.String(
        load_default="0",
        validate=validate.Length(max=CURSOR_LENGTH),
        metadata={"description": description},
    )


class ChangesQuerySchema(Schema):
    after = _after("Answer the changes recorded after this cursor (0: from the start)")
    limit = fields.Integer(load_default=500, validate=FEED_LIMIT)
    wait = fields.Float(
        load_default=0.0,
        validate=validate.Range(min=0, max=25),
        metadata={"description": "Seconds to hold the request while nothing follows `after`"},
    )


class StreamQuerySchema(Schema):
    after = _after(
        "Stream the changes recorded after this cursor; the Last-Event-ID header, when "
        "sent, takes its place"
    )
    heartbeat = fields.Float(
        load_default=10.0,
        validate=validate.Range(min=1, max=30),
        metadata={"description": "Seconds of quiet after which a `: keepalive` comment is sent"},
    )


class SnapshotQuerySchema(Schema):
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=CURSOR_LENGTH + 1 + 36),
        metadata={"description": "The `next` of the previous page; none for the first"},
    )
    limit = fields.Integer(load_default=500, validate=FEED_LIMIT)


class AncestorsQuerySchema(Schema):
    min_version = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2**63 - 1),
        metadata={"description": "Answer from a scope tree at least this model version"},
    )


class ChangeSchema(Schema):
    cursor = fields.String(required=True)
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["changed", "deprovisioned", "deleted", "scopes"]),
    )
    version = fields.Integer(required=True)
    user_id = fields.String()
    user_name = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    permissions = fields.Dict(metadata={"description": "The set, as GET .../permissions reads it"})


class ChangesPageSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    cursor = fields.String(required=True, metadata={"description": "Pass as `after` next"})
    more = fields.Boolean(required=True, metadata={"description": "More are recorded already"})


class SnapshotSetSchema(Schema):
    user_id = fields.String(required=True)
    user_name = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    kind = fields.String(required=True)
    permissions = fields.Dict(required=True)


class SnapshotPageSchema(Schema):
    sets = fields.List(fields.Nested(SnapshotSetSchema), required=True)
    feed_cursor = fields.String(
        required=True,
        metadata={"description": "The same on every page: read /changes after it when done"},
    )
    next = fields.String(allow_none=True, metadata={"description": "Pass as `cursor`; null: done"})


class AncestorsSchema(Schema):
    scope_id = fields.String(required=True)
    ancestors = fields.List(
        fields.String(), required=True, metadata={"description": "Nearest first"}
    )
    version = fields.Integer(required=True, metadata={"description": "The model version"})
