from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.limits import fits
from service.persistence.permission_models import RoleRow, ScopeRow

# A registration may be offered a few roles; a long list means something else.
MAX_ROLES = 50


class SelfRegistrationSettingsSchema(Schema):
    parent_scope_id = fields.String(
        allow_none=True,
        validate=fits(ScopeRow.id, min=1),
        metadata={
            "description": "The scope new self-registered accounts are created below; "
            "null: they are roots of the tenant's tree"
        },
    )
    default_role = fields.String(
        allow_none=True,
        validate=fits(RoleRow.key, min=1),
        metadata={"description": "The role a registration gives when it names none"},
    )
    roles = fields.List(
        fields.String(validate=fits(RoleRow.key, min=1)),
        validate=validate.Length(max=MAX_ROLES),
        metadata={"description": "Further roles a registration may name instead"},
    )
