from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import QuerySchema
from service.http.limits import fits
from service.persistence.models import AuditEvent
from service.persistence.repositories.audit import Outcome
from service.services.provisioning_log import OPERATIONS, RESOURCE_TYPES


class ProvisioningEntrySchema(Schema):
    id = fields.String()
    occurred_at = fields.DateTime()
    idp = fields.String(
        allow_none=True, metadata={"description": "The IdP, named from its User-Agent"}
    )
    user_agent = fields.String(allow_none=True, metadata={"description": "As sent, truncated"})
    operation = fields.String(allow_none=True)
    resource_type = fields.String(allow_none=True, metadata={"description": "User or Group"})
    resource_id = fields.String(allow_none=True)
    resource_name = fields.String(
        allow_none=True, metadata={"description": "The userName or displayName, when known"}
    )
    outcome = fields.String(
        metadata={"description": "applied, no_change, rejected or member_skipped"}
    )
    reason = fields.String(
        allow_none=True,
        metadata={
            "description": "Why: the SCIM error (status, scimType, detail) of a rejected "
            "request, the member and why of a skipped one, what was asked of a no change"
        },
    )
    request_id = fields.String(allow_none=True)


class ProvisioningQuerySchema(QuerySchema):
    outcome = fields.String(validate=validate.OneOf([outcome.value for outcome in Outcome]))
    operation = fields.String(validate=validate.OneOf(OPERATIONS))
    resource_type = fields.String(validate=validate.OneOf(RESOURCE_TYPES))
    idp = fields.String(validate=fits(AuditEvent.idp))
    reason_contains = fields.String(
        validate=fits(AuditEvent.reason), metadata={"description": "Text in the reason, any case"}
    )
