from __future__ import annotations

from marshmallow import Schema, fields

from service.http.limits import fits
from service.persistence.permission_models import RoleRow, ScopeRow
from service.persistence.scim_models import ScimUser


class AccountRulesSchema(Schema):
    account_types_for_user_type = fields.Dict(
        keys=fields.String(validate=fits(ScimUser.user_type, min=1)),
        values=fields.List(fields.String(validate=fits(ScopeRow.account_type, min=1))),
        metadata={"description": "User type -> the account types such a user may belong to"},
    )
    single_account_type = fields.Boolean(
        metadata={"description": "All of a user's accounts must be of one type"}
    )
    disjoint_hierarchies = fields.Boolean(
        metadata={"description": "None of a user's accounts may be an ancestor of another"}
    )


class PermissionSettingsSchema(Schema):
    default_role = fields.String(allow_none=True)
    account_rules = fields.Nested(AccountRulesSchema)
    account_rules_are_default = fields.Boolean()
    model_version = fields.Integer()


class PermissionSettingsUpdateSchema(Schema):
    default_role = fields.String(
        allow_none=True,
        validate=fits(RoleRow.key, min=1),
        metadata={"description": "Role key held wherever a user holds anything; null: none"},
    )
    account_rules = fields.Nested(
        AccountRulesSchema,
        allow_none=True,
        metadata={"description": "null restores seed 001's rules"},
    )
