from __future__ import annotations

from marshmallow import Schema, fields

from service.http.admin.paging import QuerySchema
from service.http.admin.products.schemas import product_field
from service.http.limits import fits
from service.persistence.permission_models import RoleRow, ScopeRow
from service.persistence.scim_models import ScimUser


class AssignmentSchema(Schema):
    id = fields.String(dump_only=True)
    user_id = fields.String(dump_only=True)
    product = fields.String(dump_only=True, metadata={"description": "The role's product"})
    role_key = fields.String(dump_only=True)
    scope_id = fields.String(dump_only=True)
    assign_account = fields.Boolean(dump_only=True)
    created_by = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class AssignmentCreateSchema(Schema):
    user = fields.String(
        required=True,
        validate=fits(ScimUser.user_name, min=1),
        metadata={"description": "The user's SCIM id, userName or externalId"},
    )
    role_key = fields.String(required=True, validate=fits(RoleRow.key, min=1))
    product = product_field(load_default=None)
    scope_id = fields.String(required=True, validate=fits(ScopeRow.id, min=1))
    assign_account = fields.Boolean(
        load_default=False,
        metadata={"description": "Also make the user a member of the account (seed 001's rules)"},
    )


class AssignmentQuerySchema(QuerySchema):
    user = fields.String(
        validate=fits(ScimUser.user_name),
        metadata={"description": "SCIM id, userName or externalId"},
    )
    role_key = fields.String(validate=fits(RoleRow.key))
    scope_id = fields.String(validate=fits(ScopeRow.id))
