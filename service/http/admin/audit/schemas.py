from __future__ import annotations

from marshmallow import Schema, fields

from service.http.admin.paging import QuerySchema
from service.http.limits import fits
from service.persistence.models import AuditEvent


class AuditEventSchema(Schema):
    id = fields.String()
    occurred_at = fields.DateTime()
    actor = fields.String(metadata={"description": "token:<id> of the caller, or cli"})
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    request_id = fields.String(allow_none=True)


class AuditQuerySchema(QuerySchema):
    action = fields.String(
        validate=fits(AuditEvent.action),
        metadata={"description": "An action, or a prefix ending in '.'"},
    )
    target_type = fields.String(validate=fits(AuditEvent.target_type))
    target_id = fields.String(validate=fits(AuditEvent.target_id))
    actor = fields.String(validate=fits(AuditEvent.actor))
    since = fields.AwareDateTime(default_timezone=None)
    until = fields.AwareDateTime(default_timezone=None)
