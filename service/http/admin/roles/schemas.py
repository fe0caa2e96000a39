from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import QuerySchema


class RoleSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=128))
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = fields.String(load_default="")
    grants = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        load_default=dict,
        metadata={"description": "Area key -> level"},
    )
    allowed_scope_types = fields.List(
        fields.String(),
        load_default=None,
        allow_none=True,
        metadata={"description": "Scope types it may be granted at; null: any"},
    )
    allowed_account_types = fields.List(
        fields.String(),
        load_default=None,
        allow_none=True,
        metadata={"description": "At accounts, the account types it may be granted at; null: any"},
    )
    reaches_descendants = fields.Boolean(
        load_default=False,
        metadata={"description": "Whether its grants also hold at every scope below"},
    )
    root_only = fields.Boolean(load_default=False)


class RoleUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=300))
    description = fields.String()
    grants = fields.Dict(keys=fields.String(), values=fields.String())
    allowed_scope_types = fields.List(fields.String(), allow_none=True)
    allowed_account_types = fields.List(fields.String(), allow_none=True)
    reaches_descendants = fields.Boolean()
    root_only = fields.Boolean()


class RoleQuerySchema(QuerySchema):
    scope_type = fields.String(metadata={"description": "Roles grantable at this scope type"})
    area = fields.String(metadata={"description": "Roles granting this area"})
