from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import QuerySchema
from service.http.admin.products.schemas import product_field
from service.http.limits import fits
from service.persistence.permission_models import MappingRow, RoleRow, ScopeRow

GROUP_KINDS = ["id", "externalId", "displayName"]


class GroupRefSchema(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(GROUP_KINDS),
        metadata={"description": "How the IdP group is named: SCIM id, externalId or displayName"},
    )
    value = fields.String(required=True, validate=fits(MappingRow.group_value, min=1))


class MatchedGroupSchema(Schema):
    id = fields.String()
    display_name = fields.String()
    external_id = fields.String(allow_none=True)


class MappingSchema(Schema):
    id = fields.String(dump_only=True)
    group = fields.Nested(GroupRefSchema, dump_only=True)
    product = fields.String(dump_only=True, metadata={"description": "The role's product"})
    role_key = fields.String(dump_only=True)
    scope_id = fields.String(dump_only=True)
    assign_account = fields.Boolean(dump_only=True)
    created_by = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class MappingDetailSchema(MappingSchema):
    matched_groups = fields.List(
        fields.Nested(MatchedGroupSchema),
        dump_only=True,
        metadata={
            "description": "The groups the reference names now; empty before the IdP sends it"
        },
    )


class MappingCreateSchema(Schema):
    group = fields.Nested(GroupRefSchema, required=True)
    role_key = fields.String(required=True, validate=fits(RoleRow.key, min=1))
    product = product_field(load_default=None)
    scope_id = fields.String(required=True, validate=fits(ScopeRow.id, min=1))
    assign_account = fields.Boolean(
        load_default=False,
        metadata={"description": "Also make members members of the account (seed 001's rules)"},
    )


class MappingUpdateSchema(Schema):
    group = fields.Nested(GroupRefSchema)
    role_key = fields.String(validate=fits(RoleRow.key, min=1))
    product = product_field()
    scope_id = fields.String(validate=fits(ScopeRow.id, min=1))
    assign_account = fields.Boolean()


class MappingQuerySchema(QuerySchema):
    role_key = fields.String(validate=fits(RoleRow.key))
    product = product_field()
    scope_id = fields.String(validate=fits(ScopeRow.id))
    group_kind = fields.String(validate=validate.OneOf(GROUP_KINDS))
    group_value = fields.String(
        validate=fits(MappingRow.group_value),
        metadata={"description": "Compared without regard to case"},
    )
    assign_account = fields.Boolean()
