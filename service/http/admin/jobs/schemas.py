from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import page_field
from service.persistence.invitation_models import JOB_ROW_STATUSES


class TotalsSchema(Schema):
    rows = fields.Integer()
    valid = fields.Integer()
    invalid = fields.Integer()
    queued = fields.Integer()
    processing = fields.Integer()
    sent = fields.Integer()
    failed = fields.Integer()
    skipped = fields.Integer(metadata={"description": "Already invited"})


class JobRowSchema(Schema):
    line = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String(allow_none=True)
    scope = fields.String(allow_none=True)
    account = fields.String(allow_none=True)
    status = fields.String()
    reason = fields.String(allow_none=True)
    invitation_id = fields.String(allow_none=True)


class JobSchema(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"description": "queued, running or completed"})
    source = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    totals = fields.Nested(TotalsSchema)


class JobSubmittedSchema(JobSchema):
    errors = fields.List(
        fields.Nested(JobRowSchema),
        metadata={"description": "The invalid rows (the first 1000), with line and reason"},
    )


class JobDetailSchema(JobSchema):
    results = fields.List(fields.Nested(JobRowSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total_results = fields.Integer()


class JobPageSchema(Schema):
    items = fields.List(fields.Nested(JobSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class JobQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(JOB_ROW_STATUSES))
    page = page_field()
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class PageQuerySchema(Schema):
    page = page_field()
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
