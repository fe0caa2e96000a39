from __future__ import annotations

from marshmallow import Schema, fields

from service.http.admin.areas.schemas import AreaSchema
from service.http.admin.products.schemas import ProductSchema, product_field
from service.http.admin.roles.schemas import RoleSchema


class CatalogAreaSchema(AreaSchema):
    class Meta:
        exclude = ("product",)


class CatalogRoleSchema(RoleSchema):
    class Meta:
        exclude = ("product",)


class CatalogProductSchema(Schema):
    name = fields.String()
    group_only = fields.Boolean()


class CatalogSummarySchema(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    source = fields.String()
    scope_types = fields.List(fields.String())
    default_role = fields.String(allow_none=True)
    product = fields.Nested(ProductSchema)
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
    product = fields.Nested(
        CatalogProductSchema,
        metadata={"description": "The product a load creates when the tenant lacks it"},
    )
    areas = fields.List(fields.Nested(CatalogAreaSchema))
    roles = fields.List(fields.Nested(CatalogRoleSchema))


class CatalogLoadSchema(Schema):
    overwrite = fields.Boolean(
        load_default=False,
        metadata={"description": "Restore areas and roles the tenant has edited to the preset"},
    )
    product = product_field(
        load_default=None,
        metadata={
            "description": "The product to load into (created when missing); by default "
            "the one keyed like the catalog, so presets of several products load side by side"
        },
    )


class PlanPartSchema(Schema):
    create = fields.List(fields.String())
    update = fields.List(fields.String())
    unchanged = fields.List(fields.String())
    kept = fields.List(fields.String(), metadata={"description": "Edited by the tenant; left"})


class CatalogLoadResultSchema(Schema):
    catalog = fields.String()
    product = fields.String(metadata={"description": "The product it loaded into"})
    create_product = fields.Nested(
        ProductSchema,
        allow_none=True,
        metadata={"description": "The product the load created, if it did"},
    )
    changed = fields.Boolean(metadata={"description": "False when the load changed nothing"})
    areas = fields.Nested(PlanPartSchema)
    roles = fields.Nested(PlanPartSchema)
    declare_scope_types = fields.List(fields.String())
    set_default_role = fields.String(allow_none=True)
