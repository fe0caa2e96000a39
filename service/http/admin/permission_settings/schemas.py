from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.limits import fits
from service.persistence.permission_models import ProductRow, RoleRow, ScopeRow
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


class RevocationBrakeSchema(Schema):
    max_users = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "An admin change may take access from this many users"},
    )
    max_share = fields.Float(
        validate=validate.Range(min=0, max=1),
        metadata={"description": "... or from this share of the tenant's active users"},
    )


_BRAKE_DESCRIPTION = (
    "The brake on mass revocation: an admin change that would take access from more "
    "than max_users users AND more than max_share of the active users is refused (409 "
    "mass_revocation) unless confirmed with confirm=true. SCIM changes are never held. "
    "Default: 100 users and 0.10"
)


class PermissionSettingsSchema(Schema):
    default_product = fields.String(
        allow_none=True,
        metadata={"description": "Where an area or role created without a product goes"},
    )
    default_role = fields.String(
        allow_none=True, metadata={"description": "The default product's default role"}
    )
    account_rules = fields.Nested(AccountRulesSchema)
    account_rules_are_default = fields.Boolean()
    revocation_brake = fields.Nested(
        RevocationBrakeSchema, metadata={"description": _BRAKE_DESCRIPTION}
    )
    model_version = fields.Integer()


class PermissionSettingsUpdateSchema(Schema):
    default_product = fields.String(
        validate=fits(ProductRow.key, min=1),
        metadata={"description": "Key of the product new areas and roles go to by default"},
    )
    default_role = fields.String(
        allow_none=True,
        validate=fits(RoleRow.key, min=1),
        metadata={
            "description": "The default product's default role (a role key of that product; "
            "each product has its own, see /api/v1/products); null: none"
        },
    )
    account_rules = fields.Nested(
        AccountRulesSchema,
        allow_none=True,
        metadata={"description": "null restores seed 001's rules"},
    )
    revocation_brake = fields.Nested(
        RevocationBrakeSchema,
        allow_none=True,
        metadata={"description": f"{_BRAKE_DESCRIPTION}; null restores the defaults"},
    )
