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


class OriginSchema(Schema):
    source = fields.String(metadata={"description": "direct, mapping or default (a role)"})
    assignment_id = fields.String(
        allow_none=True, metadata={"description": "The direct assignment, when direct"}
    )
    mapping_id = fields.String(allow_none=True)
    group_id = fields.String(
        allow_none=True, metadata={"description": "The group the mapping names (the user is in it)"}
    )
    group_name = fields.String(allow_none=True, metadata={"description": "Its displayName"})


class AccountConflictSchema(Schema):
    """One user's account conflict (service.domain.accounts.AccountConflict)."""

    account_id = fields.String(
        metadata={
            "description": "The account refused, or (not_a_member) the account the user would "
            "need to belong to"
        }
    )
    origin = fields.String(metadata={"description": "'direct', or the id of the mapping"})
    origin_detail = fields.Nested(OriginSchema)
    rule = fields.String(
        metadata={
            "description": "mixed_account_types, same_vertical_hierarchy, user_type_mismatch, "
            "not_an_account, or not_a_member (a role inside an account the user belongs "
            "neither to nor below: it grants nothing)"
        }
    )
    message = fields.String()
    blocking_account_id = fields.String(
        allow_none=True, metadata={"description": "The account held that it collides with"}
    )
    blocking_origin = fields.String(allow_none=True)
    blocking_origin_detail = fields.Nested(OriginSchema, allow_none=True)
    role_key = fields.String(
        allow_none=True, metadata={"description": "not_a_member: the role that grants nothing"}
    )
    scope_id = fields.String(
        allow_none=True, metadata={"description": "not_a_member: where that role was granted"}
    )


class ConflictSchema(AccountConflictSchema):
    user_id = fields.String()
    user_name = fields.String(allow_none=True)
    account_name = fields.String(allow_none=True)
    mapping = fields.Nested(ConflictMappingSchema, allow_none=True)


class ConflictQuerySchema(QuerySchema):
    user = fields.String(
        validate=fits(ScimUser.user_name),
        metadata={"description": "SCIM id, userName or externalId"},
    )
    rule = fields.String(validate=validate.Length(max=64))  # rule names are short words
    account_id = fields.String(validate=fits(ScopeRow.id))
    mapping_id = fields.String(validate=fits(MappingRow.id))
