from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.mappings.schemas import GroupRefSchema
from service.http.admin.paging import QuerySchema
from service.http.limits import fits
from service.persistence.permission_models import MappingRow, ScopeRow
from service.persistence.scim_models import ScimUser


class ConflictMappingSchema(Schema):
    id = fields.String()
    group = fields.Nested(GroupRefSchema)
    product = fields.String(allow_none=True)
    role_key = fields.String()
    scope_id = fields.String()


class ConflictSchema(Schema):
    user_id = fields.String()
    user_name = fields.String(allow_none=True)
    account_id = fields.String(metadata={"description": "The account that was refused"})
    account_name = fields.String(allow_none=True)
    origin = fields.String(metadata={"description": "'direct', or the id of the mapping"})
    mapping = fields.Nested(ConflictMappingSchema, allow_none=True)
    rule = fields.String(
        metadata={
            "description": "mixed_account_types, same_vertical_hierarchy, user_type_mismatch "
            "or not_an_account"
        }
    )
    message = fields.String()
    blocking_account_id = fields.String(allow_none=True)
    blocking_origin = fields.String(allow_none=True)


class ConflictQuerySchema(QuerySchema):
    user = fields.String(
        validate=fits(ScimUser.user_name),
        metadata={"description": "SCIM id, userName or externalId"},
    )
    rule = fields.String(validate=validate.Length(max=64))  # rule names are short words
    account_id = fields.String(validate=fits(ScopeRow.id))
    mapping_id = fields.String(validate=fits(MappingRow.id))
