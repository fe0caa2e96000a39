from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from service.http.admin.paging import QuerySchema
from service.http.limits import fits, free_text
from service.persistence.permission_models import ProductRow, RoleRow

_PRODUCT_DESCRIPTION = (
    "The product's key. Optional when the key is in one product only; a new area or "
    "role without one goes to the tenant's default product"
)


def product_field(**kwargs: Any) -> fields.String:
    """The product an area, role, mapping or assignment belongs to, named by key."""
    kwargs.setdefault("metadata", {"description": _PRODUCT_DESCRIPTION})
    return fields.String(validate=fits(ProductRow.key, min=1), **kwargs)


class _ProductOfRow(fields.String):
    """Read as a product key; shown from an area or role row's ``product`` relation."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(getattr(value, "key", value))


def row_product_field() -> fields.String:
    """``product`` of an area or role row: read as a key, shown as its product's key."""
    return _ProductOfRow(
        load_default=None,
        validate=fits(ProductRow.key, min=1),
        metadata={"description": _PRODUCT_DESCRIPTION},
    )


class ProductQuerySchema(QuerySchema):
    product = product_field()


class ProductSchema(Schema):
    key = fields.String(required=True, validate=fits(ProductRow.key, min=1))
    name = fields.String(required=True, validate=fits(ProductRow.name, min=1))
    description = fields.String(load_default="", validate=free_text())
    group_only = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Roles of this product are granted through IdP group mappings "
            "only: direct assignments and role-bearing invitations are refused (409)"
        },
    )
    default_role = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Role an invitation to this product grants when it names none; "
            "also held wherever the user holds another role of the product"
        },
    )


class TenantProductSchema(ProductSchema):
    """A product of the tenant, and whether it is the default one."""

    is_default = fields.Boolean(
        load_default=False,
        metadata={"description": "Where areas and roles created without a product go"},
    )


class ProductUpdateSchema(Schema):
    name = fields.String(validate=fits(ProductRow.name, min=1))
    description = fields.String(validate=free_text())
    group_only = fields.Boolean()
    default_role = fields.String(
        allow_none=True,
        validate=fits(RoleRow.key, min=1),
        metadata={"description": "A role key of this product; null: none"},
    )
    is_default = fields.Boolean(
        metadata={"description": "true makes this the tenant's default product"}
    )
