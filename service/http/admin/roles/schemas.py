from __future__ import annotations

from marshmallow import Schema, fields

from service.http.admin.areas.schemas import LEVEL_LENGTH
from service.http.admin.products.schemas import ProductQuerySchema, row_product_field
from service.http.limits import fits, free_text
from service.persistence.permission_models import AreaRow, RoleRow, ScopeRow, ScopeTypeRow


class RoleSchema(Schema):
    product = row_product_field()
    key = fields.String(required=True, validate=fits(RoleRow.key, min=1))
    name = fields.String(required=True, validate=fits(RoleRow.name, min=1))
    description = fields.String(load_default="", validate=free_text())
    grants = fields.Dict(
        keys=fields.String(validate=fits(AreaRow.key, min=1)),
        values=fields.String(validate=LEVEL_LENGTH),
        load_default=dict,
        metadata={"description": "Area key (an area of the role's product) -> level"},
    )
    allowed_scope_types = fields.List(
        fields.String(validate=fits(ScopeTypeRow.key, min=1)),
        load_default=None,
        allow_none=True,
        metadata={"description": "Scope types it may be granted at; null: any"},
    )
    allowed_account_types = fields.List(
        fields.String(validate=fits(ScopeRow.account_type, min=1)),
        load_default=None,
        allow_none=True,
        metadata={"description": "At accounts, the account types it may be granted at; null: any"},
    )
    reaches_descendants = fields.Boolean(
        load_default=False,
        metadata={"description": "Whether its grants also hold at every scope below"},
    )
    root_only = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Grantable only at the root scope of its product: one with no "
            "scope of an allowed type above it (no allowed types: one without a parent)"
        },
    )


class RoleUpdateSchema(Schema):
    name = fields.String(validate=fits(RoleRow.name, min=1))
    description = fields.String(validate=free_text())
    grants = fields.Dict(
        keys=fields.String(validate=fits(AreaRow.key, min=1)),
        values=fields.String(validate=LEVEL_LENGTH),
    )
    allowed_scope_types = fields.List(
        fields.String(validate=fits(ScopeTypeRow.key, min=1)), allow_none=True
    )
    allowed_account_types = fields.List(
        fields.String(validate=fits(ScopeRow.account_type, min=1)), allow_none=True
    )
    reaches_descendants = fields.Boolean()
    root_only = fields.Boolean()


class RoleQuerySchema(ProductQuerySchema):
    scope_type = fields.String(
        validate=fits(ScopeTypeRow.key),
        metadata={"description": "Roles grantable at this scope type"},
    )
    area = fields.String(
        validate=fits(AreaRow.key), metadata={"description": "Roles granting this area"}
    )
