from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import QuerySchema

ACCOUNT_TYPES = ["customer", "producer", "partner", "self_registered"]


class ScopeSchema(Schema):
    id = fields.String(dump_only=True)
    type = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    parent_id = fields.String(dump_only=True, allow_none=True)
    account_type = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class ScopeCreateSchema(Schema):
    type = fields.String(
        required=True,
        metadata={"description": "A built-in type or one the tenant declared"},
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    parent_id = fields.String(load_default=None, allow_none=True)
    account_type = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": f"Accounts only: one of {', '.join(ACCOUNT_TYPES)}"},
    )


class ScopeUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=300))
    parent_id = fields.String(
        allow_none=True,
        metadata={"description": "Moves the scope and its subtree; null makes it a root"},
    )
    account_type = fields.String(allow_none=True)


class ScopeQuerySchema(QuerySchema):
    type = fields.String()
    parent_id = fields.String()
    root = fields.Boolean(metadata={"description": "Only roots (true) or only non-roots"})
    account_type = fields.String()
    name = fields.String(metadata={"description": "Part of the name, any case"})


class ScopeDeleteQuerySchema(QuerySchema):
    cascade = fields.Boolean(
        load_default=False,
        metadata={"description": "Also delete every scope below; refused without it"},
    )


class ScopeDeletionSchema(Schema):
    deleted_scopes = fields.List(fields.String())
    deleted_assignments = fields.List(fields.String())
    deleted_mappings = fields.List(fields.String())


class ScopeTypeSchema(Schema):
    key = fields.String(required=True)
    builtin = fields.Boolean(dump_only=True)
