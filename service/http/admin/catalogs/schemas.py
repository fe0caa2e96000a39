from __future__ import annotations

from marshmallow import Schema, fields

from service.http.admin.areas.schemas import AreaSchema
from service.http.admin.roles.schemas import RoleSchema


class CatalogSummarySchema(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    source = fields.String()
    scope_types = fields.List(fields.String())
    default_role = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    area_count = fields.Integer()
    role_count = fields.Integer()


class CatalogSchema(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    source = fields.String()
    scope_types = fields.List(fields.String())
    default_role = fields.String(allow_none=True)
    account_rules = fields.Dict(allow_none=True)
    areas = fields.List(fields.Nested(AreaSchema))
    roles = fields.List(fields.Nested(RoleSchema))


class CatalogLoadSchema(Schema):
    overwrite = fields.Boolean(
        load_default=False,
        metadata={"description": "Restore areas and roles the tenant has edited to the preset"},
    )


class PlanPartSchema(Schema):
    create = fields.List(fields.String())
    update = fields.List(fields.String())
    unchanged = fields.List(fields.String())
    kept = fields.List(fields.String(), metadata={"description": "Edited by the tenant; left"})


class CatalogLoadResultSchema(Schema):
    catalog = fields.String()
    changed = fields.Boolean(metadata={"description": "False when the load changed nothing"})
    areas = fields.Nested(PlanPartSchema)
    roles = fields.Nested(PlanPartSchema)
    declare_scope_types = fields.List(fields.String())
    set_default_role = fields.String(allow_none=True)
