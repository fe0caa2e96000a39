from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.paging import QuerySchema


class AreaSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=128))
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    levels = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        load_default=["granted"],
        metadata={"description": "Lowest first; a grant of a level implies every lower one"},
    )
    category = fields.String(load_default=None, allow_none=True)
    description = fields.String(load_default="")


class AreaUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=300))
    levels = fields.List(fields.String(validate=validate.Length(min=1, max=200)))
    category = fields.String(allow_none=True)
    description = fields.String()


class AreaQuerySchema(QuerySchema):
    category = fields.String()
    key_prefix = fields.String()
