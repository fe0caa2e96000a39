"""Admin API: permission areas, each a capability with ordered levels."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters

from service.http.admin.areas.schemas import AreaQuerySchema, AreaSchema, AreaUpdateSchema
from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.products.schemas import ProductQuerySchema
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import areas
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "areas", __name__, url_prefix="/api/v1/areas", description="Permission areas and their levels"
)


@blueprint.route("")
@blueprint.arguments(AreaQuerySchema, location="query")
@blueprint.response(200, AreaSchema(many=True))
@blueprint.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
@requires(TokenKind.ADMIN)
def list_areas(query: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Any]:
    """List permission areas

    Every product's areas, or one product's with `product`.
    """
    rows, total = areas.list_areas(
        uow(),
        caller().tenant_id,
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
        **query,
    )
    pagination_parameters.item_count = total
    return rows


@blueprint.route("", methods=["POST"])
@blueprint.arguments(AreaSchema)
@blueprint.response(201, AreaSchema)
@requires(TokenKind.ADMIN)
def create_area(body: dict[str, Any]) -> Any:
    """Create a permission area

    An area is a capability with ordered levels; a grant of a level implies every lower one.
    """
    return areas.create_area(uow(), caller().tenant_id, body, caller().actor)


@blueprint.route("/<key>")
@blueprint.arguments(ProductQuerySchema, location="query")
@blueprint.response(200, AreaSchema)
@requires(TokenKind.ADMIN)
def get_area(query: dict[str, Any], key: str) -> Any:
    """Read a permission area"""
    return areas.get_area(uow(), caller().tenant_id, key, query.get("product"))


@blueprint.route("/<key>", methods=["PATCH"])
@blueprint.arguments(AreaUpdateSchema)
@blueprint.arguments(ProductQuerySchema, location="query")
@blueprint.response(200, AreaSchema)
@requires(TokenKind.ADMIN)
def update_area(body: dict[str, Any], query: dict[str, Any], key: str) -> Any:
    """Change a permission area"""
    return areas.update_area(
        uow(), caller().tenant_id, key, body, caller().actor, query.get("product")
    )


@blueprint.route("/<key>", methods=["DELETE"])
@blueprint.arguments(ProductQuerySchema, location="query")
@blueprint.response(204)
@requires(TokenKind.ADMIN)
def delete_area(query: dict[str, Any], key: str) -> None:
    """Delete a permission area

    An area a role still grants is refused with 409 naming the roles.
    """
    areas.delete_area(uow(), caller().tenant_id, key, caller().actor, query.get("product"))
