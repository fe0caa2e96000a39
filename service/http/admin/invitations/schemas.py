from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE, page_field
from service.http.admin.products.schemas import product_field
from service.persistence.invitation_models import INVITATION_STATUSES
from service.services.invitation_input import MAX_LENGTH


def _fits(field: str) -> validate.Length:
    """No longer than the columns that store the field (service.services.invitation_input)."""
    return validate.Length(max=MAX_LENGTH[field])


class DeliverySchema(Schema):
    attempt = fields.Integer()
    send_round = fields.Integer()
    at = fields.DateTime()
    outcome = fields.String(
        metadata={"description": "sent, deferred (will retry), failed, or reclaimed"}
    )
    smtp_code = fields.Integer(allow_none=True)
    detail = fields.String(allow_none=True)


class InvitationSchema(Schema):
    id = fields.String()
    user_id = fields.String(allow_none=True)
    email = fields.String()
    display_name = fields.String()
    status = fields.String(
        metadata={"description": "pending, sending, sent, accepted, expired, revoked or failed"}
    )
    failure_reason = fields.String(allow_none=True)
    send_round = fields.Integer()
    attempts = fields.Integer()
    inviter = fields.String()
    expires_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    job_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    scope_id = fields.String(
        allow_none=True, metadata={"description": "The scope it invites to, if any"}
    )
    role = fields.String(
        allow_none=True,
        metadata={"description": "The role it grants there, by ref (product/key)"},
    )
    assign_account = fields.Boolean(
        metadata={"description": "The scope is an account: accepting makes the person join it"}
    )
    grant_outcome = fields.String(
        allow_none=True,
        metadata={
            "description": "What accepting did with the role at the scope: granted, "
            "held_already or refused (the accept stands; grant_reason says why); null "
            "until accepted, or when it names no scope"
        },
    )
    grant_reason = fields.String(allow_none=True)


class InvitationDetailSchema(InvitationSchema):
    deliveries = fields.List(fields.Nested(DeliverySchema))


class InvitationPageSchema(Schema):
    items = fields.List(fields.Nested(InvitationSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class InvitationQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(INVITATION_STATUSES))
    email = fields.String(validate=_fits("email"))
    page = page_field()
    per_page = fields.Integer(
        load_default=PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE)
    )


class InvitationCreateSchema(Schema):
    user_id = fields.String(validate=_fits("user_id"))
    email = fields.Email(validate=_fits("email"))
    name = fields.String(load_default="", validate=_fits("name"))
    inviter = fields.String(
        validate=_fits("inviter"),
        metadata={"description": "Shown in the email as who invited them"},
    )
    scope_id = fields.String(
        allow_none=True,
        validate=[validate.Length(min=1), _fits("scope_id")],
        metadata={
            "description": "Invite to this scope (seed 003: an organization, folder or "
            "report); accepting grants `role` there, and at an account makes the person "
            "join it"
        },
    )
    role = fields.String(
        allow_none=True,
        validate=[validate.Length(min=1), _fits("role")],
        metadata={
            "description": "The role to grant at `scope_id` (it needs one): its key, or "
            "its ref product/key; the product's default role when left out"
        },
    )
    product = product_field(
        load_default=None,
        metadata={
            "description": "The product of `role`, or whose default role to grant when "
            "no role is named (needed only when several products have a default role)"
        },
    )

    @validates_schema
    def _one_of(self, data: dict[str, object], **_: object) -> None:
        if bool(data.get("user_id")) == bool(data.get("email")):
            raise ValidationError("Give either user_id (an existing user) or email", "email")


class InvitationSettingsSchema(Schema):
    ttl_hours = fields.Integer(validate=validate.Range(min=1, max=24 * 365))
    invite_scim_users = fields.Boolean(
        metadata={"description": "Invite users as an IdP provisions them"}
    )
    rate_limit_per_minute = fields.Integer(validate=validate.Range(min=1, max=1_000_000))


class TemplateSchema(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=500))
    text = fields.String(required=True, validate=validate.Length(min=1, max=50_000))
    html = fields.String(required=True, validate=validate.Length(min=1, max=200_000))
    fields_allowed = fields.List(fields.String(), dump_only=True)


class BulkQuerySchema(Schema):
    all_or_nothing = fields.Boolean(load_default=False)
