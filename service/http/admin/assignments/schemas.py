from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import QuerySchema


class AssignmentSchema(Schema):
    id = fields.String(dump_only=True)
    user_id = fields.String(dump_only=True)
    role_key = fields.String(dump_only=True)
    scope_id = fields.String(dump_only=True)
    assign_account = fields.Boolean(dump_only=True)
    created_by = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class AssignmentCreateSchema(Schema):
    user = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "The user's SCIM id, userName or externalId"},
    )
    role_key = fields.String(required=True)
    scope_id = fields.String(required=True)
    assign_account = fields.Boolean(
        load_default=False,
        metadata={"description": "Also make the user a member of the account (seed 001's rules)"},
    )


class AssignmentQuerySchema(QuerySchema):
    user = fields.String(metadata={"description": "SCIM id, userName or externalId"})
    role_key = fields.String()
    scope_id = fields.String()
