from __future__ import annotations

from marshmallow import Schema, fields

from service.http.admin.mappings.schemas import GroupRefSchema
from service.http.admin.paging import QuerySchema


class ConflictMappingSchema(Schema):
    id = fields.String()
    group = fields.Nested(GroupRefSchema)
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
    user = fields.String(metadata={"description": "SCIM id, userName or externalId"})
    rule = fields.String()
    account_id = fields.String()
    mapping_id = fields.String()
