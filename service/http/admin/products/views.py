"""Admin API: products, each with its own areas, roles and settings."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.previews.schemas import MASS_REVOCATION, ConfirmQuerySchema
from service.http.admin.products.schemas import ProductUpdateSchema, TenantProductSchema
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint, ErrorSchema
from service.services import previews, products
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "products",
    __name__,
    url_prefix="/api/v1/products",
    description="The tenant's products: each has its own areas, roles and settings",
)


@blueprint.route("")
@blueprint.response(200, TenantProductSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_products(pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
    """List products"""
    rows, total = products.list_products(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return rows


@blueprint.route("", methods=["POST"])
@blueprint.arguments(TenantProductSchema)
@blueprint.response(201, TenantProductSchema)
@requires(TokenKind.ADMIN)
def create_product(body: dict[str, Any]) -> dict[str, Any]:
    """Create a product"""
    return products.create_product(uow(), caller().tenant_id, body, caller().actor)


@blueprint.route("/<key>")
@blueprint.response(200, TenantProductSchema)
@requires(TokenKind.ADMIN)
def get_product(key: str) -> dict[str, Any]:
    """Read a product"""
    return products.get_product(uow(), caller().tenant_id, key)


@blueprint.route("/<key>", methods=["PATCH"])
@blueprint.arguments(ProductUpdateSchema)
@blueprint.arguments(ConfirmQuerySchema, location="query")
@blueprint.response(200, TenantProductSchema)
@blueprint.alt_response(409, schema=ErrorSchema, description=MASS_REVOCATION)
@requires(TokenKind.ADMIN)
def update_product(body: dict[str, Any], query: dict[str, Any], key: str) -> dict[str, Any]:
    """Change a product's settings"""
    return previews.apply_change(
        uow(), caller().tenant_id, "product.update", {**body, "product": key}, caller().actor,
        confirm=query["confirm"],
    )  # fmt: skip


@blueprint.route("/<key>", methods=["DELETE"])
@blueprint.response(204)
@requires(TokenKind.ADMIN)
def delete_product(key: str) -> None:
    """Delete a product

    Only an empty product that is not the default can be deleted.
    """
    products.delete_product(uow(), caller().tenant_id, key, caller().actor)
