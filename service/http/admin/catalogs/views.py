"""Admin API: the preset catalogs shipped with rolecall, and loading one."""

from __future__ import annotations

from typing import Any

from service.http.admin.catalogs.schemas import (
    CatalogLoadResultSchema,
    CatalogLoadSchema,
    CatalogSchema,
    CatalogSummarySchema,
)
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import catalogs
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "catalogs",
    __name__,
    url_prefix="/api/v1/catalogs",
    description="Preset areas and roles written from the seeds",
)


@blueprint.route("")
@blueprint.response(200, CatalogSummarySchema(many=True))
@requires(TokenKind.ADMIN)
def list_catalogs() -> list[dict[str, Any]]:
    """List the preset catalogs"""
    return [catalogs.summary(c) for c in catalogs.list_catalogs()]


@blueprint.route("/<key>")
@blueprint.response(200, CatalogSchema)
@requires(TokenKind.ADMIN)
def get_catalog(key: str) -> dict[str, Any]:
    """Read a preset catalog's areas and roles"""
    return catalogs.get_catalog(key).to_dict()


@blueprint.route("/<key>/load", methods=["POST"])
@blueprint.arguments(CatalogLoadSchema)
@blueprint.response(200, CatalogLoadResultSchema)
@requires(TokenKind.ADMIN)
def load_catalog(body: dict[str, Any], key: str) -> dict[str, Any]:
    """Load a preset catalog into a product

    Loading it again changes nothing; areas and roles the tenant edited are kept unless `overwrite`
    is set.
    """
    plan = catalogs.load_catalog(
        uow(),
        caller().tenant_id,
        key,
        overwrite=body["overwrite"],
        product=body["product"],
        actor=caller().actor,
    )
    return {**plan.to_dict(), "changed": plan.changes_anything}
