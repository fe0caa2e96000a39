from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from service.http.admin.areas.schemas import LEVEL_LENGTH
from service.http.admin.conflicts.schemas import AccountConflictSchema
from service.http.admin.products.schemas import product_field
from service.http.limits import fits
from service.persistence.permission_models import ScopeRow


class AssignmentOutSchema(Schema):
    product = fields.String(allow_none=True)
    role_key = fields.String()
    scope_id = fields.String()
    source = fields.String(metadata={"description": "direct, mapping or default"})
    mapping_id = fields.String(allow_none=True)
    via_groups = fields.List(fields.String())
    assignment_id = fields.String(allow_none=True, metadata={"description": "When direct"})


class AtScopeSchema(Schema):
    scope_id = fields.String()
    areas = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "area ref (product/key) -> level"},
    )


class UserTypeSchema(Schema):
    """A user's type, as the tenant's user type table reads the userType the IdP sent."""

    user_type = fields.String(
        allow_none=True,
        metadata={"description": "customer, producer, partner, self_registered; null: none"},
    )
    user_type_raw = fields.String(
        allow_none=True, metadata={"description": "The SCIM userType as the IdP sent it"}
    )
    user_type_status = fields.String(
        metadata={
            "description": "mapped; unmapped (a userType the tenant's table does not map: "
            "see /api/v1/user-types); absent (none sent)"
        }
    )


class UserPermissionsSchema(UserTypeSchema):
    user_id = fields.String()
    user_name = fields.String(allow_none=True)
    active = fields.Boolean()
    model_version = fields.Integer()
    accounts = fields.List(fields.String())
    areas = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Levels, lowest first, of every area the user holds"},
    )
    scopes = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        metadata={"description": "Scope id -> area -> {level, inherits, inherited_level?}"},
    )
    fences = fields.List(
        fields.String(),
        metadata={
            "description": "Present when not empty: accounts where inherited grants stop "
            "(walking up from a scope, grants at the first fence and above do not hold)"
        },
    )
    assignments = fields.List(fields.Nested(AssignmentOutSchema))
    conflicts = fields.List(fields.Nested(AccountConflictSchema))
    at_scope = fields.Nested(AtScopeSchema, allow_none=True)


class ExplainQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    area = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "The area's ref (product/key), or its key"},
    )
    level = fields.String(required=True, validate=LEVEL_LENGTH)
    scope = fields.String(required=True, validate=fits(ScopeRow.id, min=1))
    product = product_field(load_default=None)


class ChainSchema(Schema):
    source = fields.String()
    product = fields.String(allow_none=True)
    role_key = fields.String()
    role_name = fields.String()
    granted_at = fields.String()
    level = fields.String()
    inherited = fields.Boolean()
    mapping_id = fields.String(allow_none=True)
    via_groups = fields.List(fields.String())


class RefusedChainSchema(Schema):
    chain = fields.Nested(ChainSchema)
    conflict = fields.Nested(AccountConflictSchema)


class ExplanationSchema(UserTypeSchema):
    user_id = fields.String()
    active = fields.Boolean()
    area = fields.String()
    level = fields.String()
    scope_id = fields.String()
    allowed = fields.Boolean()
    outcome = fields.String(
        metadata={
            "description": "granted, level_too_low, refused_by_account_conflict "
            "or no_assignment_reaches_scope"
        }
    )
    effective_level = fields.String(allow_none=True)
    granting = fields.List(fields.Nested(ChainSchema))
    weaker = fields.List(fields.Nested(ChainSchema))
    not_reaching = fields.List(fields.Nested(ChainSchema))
    refused = fields.List(fields.Nested(RefusedChainSchema))
    summary = fields.String()
