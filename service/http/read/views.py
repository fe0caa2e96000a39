"""The read API apps call: a user's effective permissions and permission checks.

Served from Redis in one round trip that also authenticates the token, so these
views skip the generic `requires` decorator; a cache miss or a Redis outage is
answered from the database (service.services.permission_sets).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from service.http.admin.users.schemas import PermissionsQuerySchema, UserPermissionsSchema
from service.http.admin.users.views import permissions_body
from service.http.context import runtime, unit_of_work
from service.http.errors import Unauthorized
from service.http.read.schemas import (
    CheckRequestSchema,
    CheckResponseSchema,
)
from service.services import permission_sets
from service.services.permission_sets import PermissionCheck
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "read", __name__, url_prefix="/api/v1", description="Permission reads for apps"
)


def _token() -> str:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized("A bearer token is required")
    return credential.strip()


def _json(body: bytes | str | dict[str, Any], status: int = 200) -> Response:
    if isinstance(body, dict):
        body = json.dumps(body, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json")


def permissions_response(ref: str, scope: str | None, min_version: int | None) -> Response:
    """GET /api/v1/users/{ref}/permissions: read tokens get the cached set; admin tokens
    the live computation from the database, with its assignments and conflicts."""
    caller, bodies, ancestors = permission_sets.read_sets(
        runtime(), _token(), [ref], [scope] if scope else [], min_version
    )
    if caller.kind is TokenKind.ADMIN:
        with unit_of_work() as session:
            return _json(permissions_body(session, caller.tenant_id, ref, scope))
    body = bodies[0]
    if body is None:
        raise permission_sets.NotFound(
            "not_found", f"no user with id, userName or externalId {ref!r}", "user"
        )
    if scope is None:
        return _json(body)  # the cached JSON, as stored
    return _json(permission_sets.at_scope(body, scope, ancestors[scope]))


@blueprint.route("/users/<ref>/permissions")
@blueprint.arguments(PermissionsQuerySchema, location="query")
@blueprint.response(200, UserPermissionsSchema)
@blueprint.doc(
    responses={
        "200": {
            "description": "The user's effective permission set, its version and "
            "when it was computed; with ?scope=, the levels resolved at that scope"
        }
    }
)
def user_permissions(query: dict[str, Any], ref: str) -> Response:
    """A user's effective permissions (ref: SCIM id, userName or externalId)."""
    return permissions_response(ref, query.get("scope"), query.get("min_version"))


@blueprint.route("/check", methods=["POST"])
@blueprint.arguments(CheckRequestSchema)
@blueprint.response(200, CheckResponseSchema)
def check(body: dict[str, Any]) -> dict[str, Any]:
    """Check one or many (user, area, level, scope): allowed true or false for each."""
    checks = [PermissionCheck(**item) for item in body["checks"]]
    results = permission_sets.check_many(runtime(), _token(), checks, body["min_version"])
    return {"results": results}
