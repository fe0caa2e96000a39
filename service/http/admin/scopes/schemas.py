from __future__ import annotations

from marshmallow import Schema, fields

from service.http.admin.paging import QuerySchema
from service.http.limits import fits
from service.persistence.permission_models import ScopeRow, ScopeTypeRow

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
        validate=fits(ScopeRow.type, min=1),
        metadata={"description": "A built-in type or one the tenant declared"},
    )
    name = fields.String(required=True, validate=fits(ScopeRow.name, min=1))
    parent_id = fields.String(load_default=None, allow_none=True, validate=fits(ScopeRow.id))
    account_type = fields.String(
        load_default=None,
        allow_none=True,
        validate=fits(ScopeRow.account_type),
        metadata={"description": f"Accounts only: one of {', '.join(ACCOUNT_TYPES)}"},
    )


class ScopeUpdateSchema(Schema):
    name = fields.String(validate=fits(ScopeRow.name, min=1))
    parent_id = fields.String(
        allow_none=True,
        validate=fits(ScopeRow.id),
        metadata={"description": "Moves the scope and its subtree; null makes it a root"},
    )
    account_type = fields.String(allow_none=True, validate=fits(ScopeRow.account_type))


class ScopeQuerySchema(QuerySchema):
    type = fields.String(validate=fits(ScopeRow.type))
    parent_id = fields.String(validate=fits(ScopeRow.id))
    root = fields.Boolean(metadata={"description": "Only roots (true) or only non-roots"})
    account_type = fields.String(validate=fits(ScopeRow.account_type))
    name = fields.String(
        validate=fits(ScopeRow.name), metadata={"description": "Part of the name, any case"}
    )


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
    key = fields.String(required=True, validate=fits(ScopeTypeRow.key, min=1))
    builtin = fields.Boolean(dump_only=True)
