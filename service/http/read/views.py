"""The read API apps call: a user's effective permissions and permission checks.

Served from Redis in one round trip that also authenticates the token, so these
views skip the generic `requires` decorator; a cache miss or a Redis outage is
answered from the database (service.services.permission_sets).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import ValidationError

from service.domain.errors import ValidationFailed
from service.http.admin.users.schemas import UserPermissionsSchema
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
    g.caller = caller  # for the access log
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


# The two views below are the hot path of the service. They validate with schema
# instances made once at import (webargs would build a schema per request, a third
# of the request's own time here) and describe themselves to OpenAPI through
# `doc`, which costs nothing per request.
_CHECK_REQUEST = CheckRequestSchema()


def _min_version(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed(
            "invalid_value", "min_version must be an integer", "min_version"
        ) from None


@blueprint.route("/users/<ref>/permissions")
@blueprint.doc(
    parameters=[
        {
            "in": "query",
            "name": "scope",
            "schema": {"type": "string"},
            "description": "Also resolve every area's level at this scope (inherited too)",
        },
        {
            "in": "query",
            "name": "min_version",
            "schema": {"type": "integer"},
            "description": "Answer from a set computed at or after this version "
            "(microseconds of the database clock); an older cached set is recomputed first",
        },
    ],
    responses={
        "200": {
            "description": "The user's effective permission set, its version and when it was "
            "computed; with ?scope=, the levels resolved at that scope. Admin tokens get the "
            "set computed live, with the assignments and account conflicts behind it.",
            "content": {"application/json": {"schema": UserPermissionsSchema}},
        }
    },
)
def user_permissions(ref: str) -> Response:
    """A user's effective permissions (ref: SCIM id, userName or externalId)."""
    return permissions_response(
        ref, request.args.get("scope") or None, _min_version(request.args.get("min_version"))
    )


@blueprint.route("/check", methods=["POST"])
@blueprint.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": CheckRequestSchema}}},
    responses={
        "200": {
            "description": "One result per check, in order",
            "content": {"application/json": {"schema": CheckResponseSchema}},
        }
    },
)
def check() -> Response:
    """Check one or many (user, area, level, scope): allowed true or false for each."""
    payload = request.get_json(silent=True)
    fast = _plainly_valid(payload)
    if fast is not None:
        checks, min_version = fast
    else:
        try:
            body = _CHECK_REQUEST.load(payload or {})
        except ValidationError as error:
            return _json(
                {
                    "code": 422,
                    "status": "Unprocessable Entity",
                    "message": "The request body is not valid",
                    "errors": {"json": error.messages},
                },
                422,
            )
        checks = [PermissionCheck(**item) for item in body["checks"]]
        min_version = body["min_version"]
    results = permission_sets.check_many(runtime(), _token(), checks, min_version)
    return _json({"results": results})


_CHECK_FIELDS = ("user", "area", "level", "scope")


def _plainly_valid(payload: Any) -> tuple[list[PermissionCheck], int | None] | None:
    """The checks of a body that is obviously valid, or None to let the schema decide.

    Accepts only the exact shape the schema describes (non-empty short strings, an
    optional integer min_version, nothing else), so anything unusual still gets the
    schema's field-by-field errors, while the common request skips it."""
    if not isinstance(payload, dict) or not payload.keys() <= {"checks", "min_version"}:
        return None
    items, min_version = payload.get("checks"), payload.get("min_version")
    if not isinstance(items, list) or not 0 < len(items) <= 500:
        return None
    if min_version is not None and type(min_version) is not int:
        return None
    checks = []
    for item in items:
        if not isinstance(item, dict) or item.keys() != set(_CHECK_FIELDS):
            return None
        values = [item[name] for name in _CHECK_FIELDS]
        if not all(type(v) is str and 0 < len(v) <= 200 for v in values):
            return None
        checks.append(PermissionCheck(*values))
    return checks, min_version
