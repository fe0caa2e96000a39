"""The read API apps call: a user's effective permissions and permission checks.

Served from Redis in one round trip that also authenticates the token: these views
parse the bearer token with the authenticator (service.http.auth) and hand its
decision for the read surface to the read path (service.services.permission_reads),
which answers a cache miss or a Redis outage from the database.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint, abort
from marshmallow import ValidationError

from service.domain.errors import NotFound, ValidationFailed
from service.http.admin.users.schemas import UserPermissionsSchema
from service.http.auth import Surface, admitting, bearer_token
from service.http.context import runtime
from service.http.read.schemas import (
    CheckRequestSchema,
    CheckResponseSchema,
)
from service.services import permission_reads
from service.services.permission_reads import PermissionCheck
from service.services.tokens import TokenKind
from service.services.user_permissions import permissions_of

blueprint = Blueprint(
    "read", __name__, url_prefix="/api/v1", description="Permission reads for apps"
)

_READER = admitting(Surface.READ)


def _json(body: bytes | str | dict[str, Any], status: int = 200) -> Response:
    if isinstance(body, dict):
        body = json.dumps(body, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json")


def permissions_response(ref: str, scope: str | None, min_version: int | None) -> Response:
    """GET /api/v1/users/{ref}/permissions: read tokens get the cached set; admin tokens
    the live computation from the database, with its assignments and conflicts."""
    found = permission_reads.read_sets(
        runtime(), bearer_token(), _READER, [ref], [scope] if scope else [], min_version
    )
    if found.caller.kind is TokenKind.ADMIN:
        live = permissions_of(runtime().unit_of_work(), found.caller.tenant_id, ref, scope)
        return _json(live)
    body = found.bodies[0]
    if body is None:
        raise NotFound("not_found", f"no user with id, userName or externalId {ref!r}", "user")
    if scope is None:
        return _json(body)  # the cached JSON, as stored
    return _json(permission_reads.at_scope(body, scope, found.ancestors[scope]))


# The two views below are the hot path of the service. They validate with a schema
# instance made once at import (webargs would build a schema per request, a third
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
    token = bearer_token()
    try:
        body = _CHECK_REQUEST.load(request.get_json(silent=True) or {})
    except ValidationError as error:
        abort(422, message="The request body is not valid", messages={"json": error.messages})
    checks = [PermissionCheck(**item) for item in body["checks"]]
    results = permission_reads.check_many(runtime(), token, _READER, checks, body["min_version"])
    return _json({"results": results})
