from __future__ import annotations

from marshmallow import Schema, fields

from service.http.admin.users.schemas import UserTypeSchema
from service.http.limits import fits
from service.persistence.invitation_models import Invitation
from service.persistence.permission_models import RoleRow, ScopeRow
from service.persistence.scim_models import ScimUser


class RegistrationSchema(Schema):
    user_name = fields.String(
        required=True,
        validate=fits(ScimUser.user_name, min=1),
        metadata={"description": "The new user's userName, unique in the tenant"},
    )
    # Bounded as an invitation's address: the user may be invited by email later.
    email = fields.Email(required=True, validate=fits(Invitation.email))
    given_name = fields.String(load_default=None, validate=fits(ScimUser.given_name))
    family_name = fields.String(load_default=None, validate=fits(ScimUser.family_name))
    company = fields.String(
        load_default=None,
        validate=fits(ScopeRow.name, min=1),
        metadata={"description": "A new self-registered account is created for it"},
    )
    account_id = fields.String(
        load_default=None,
        validate=fits(ScopeRow.id, min=1),
        metadata={
            "description": "Instead of company: the id of an existing self-registered "
            "account to join"
        },
    )
    role = fields.String(
        load_default=None,
        validate=fits(RoleRow.key, min=1),
        metadata={
            "description": "The role to hold at the account, one of those the tenant lets "
            "registrations give; left out: the tenant's default for registrations"
        },
    )


class RegisteredUserSchema(UserTypeSchema):
    id = fields.String(metadata={"description": "The SCIM id: GET /scim/v2/Users/{id}"})
    user_name = fields.String()


class RegisteredAccountSchema(Schema):
    id = fields.String()
    name = fields.String()
    parent_id = fields.String(allow_none=True)
    account_type = fields.String()
    created = fields.Boolean(
        metadata={"description": "true: made for the company; false: an existing one joined"}
    )


class RegisteredSchema(Schema):
    user = fields.Nested(RegisteredUserSchema)
    account = fields.Nested(RegisteredAccountSchema)
    role_key = fields.String()
    assignment_id = fields.String(metadata={"description": "The direct assignment made"})
