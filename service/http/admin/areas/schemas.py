from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.http.admin.products.schemas import ProductQuerySchema, row_product_field
from service.http.limits import fits, free_text
from service.persistence.permission_models import AreaRow

# Levels are stored inside a JSON column; this is their declared bound.
LEVEL_LENGTH = validate.Length(min=1, max=200)


class AreaSchema(Schema):
    product = row_product_field()
    key = fields.String(required=True, validate=fits(AreaRow.key, min=1))
    name = fields.String(required=True, validate=fits(AreaRow.name, min=1))
    levels = fields.List(
        fields.String(validate=LEVEL_LENGTH),
        load_default=["granted"],
        metadata={"description": "Lowest first; a grant of a level implies every lower one"},
    )
    category = fields.String(load_default=None, allow_none=True, validate=fits(AreaRow.category))
    description = fields.String(load_default="", validate=free_text())


class AreaUpdateSchema(Schema):
    name = fields.String(validate=fits(AreaRow.name, min=1))
    levels = fields.List(fields.String(validate=LEVEL_LENGTH))
    category = fields.String(allow_none=True, validate=fits(AreaRow.category))
    description = fields.String(validate=free_text())


class AreaQuerySchema(ProductQuerySchema):
    category = fields.String(validate=fits(AreaRow.category))
    key_prefix = fields.String(validate=fits(AreaRow.key))
