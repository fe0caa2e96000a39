"""The read API apps call: a user's effective permissions and permission checks.

Served from Redis in one round trip that also authenticates the token: these views
parse the bearer token with the authenticator (service.http.auth) and hand its
decision for the read surface to the read path (service.services.permission_reads),
which answers a cache miss or a Redis outage from the database.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Response, request
from werkzeug.exceptions import HTTPException

from service.domain.errors import NotFound, ValidationFailed
from service.http.admin.users.schemas import UserPermissionsSchema
from service.http.auth import Surface, admitting, authenticate, bearer_token
from service.http.context import runtime
from service.http.limits import NUL
from service.http.read.schemas import SCOPE_LENGTH, CheckRequestSchema, CheckResponseSchema
from service.http.smorest import Blueprint
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
# instance made once at import (webargs' decorator would build a schema per request,
# a third of the request's own time here; its parser given the instance does not)
# and describe themselves to OpenAPI through `doc`, which costs nothing per request.
# They authenticate in the read path's one round trip; bad input is answered only
# once the caller is known (`_refuse`).
_CHECK_REQUEST = CheckRequestSchema()
MAX_VERSION = 2**63 - 1  # versions are microseconds in a 64-bit column


def _refuse(error: Exception) -> NoReturn:
    """Raise `error`, unless the caller may not read at all: then its 401 or 403."""
    authenticate(Surface.READ)
    raise error


def _min_version(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_VERSION:
        _refuse(
            ValidationFailed(
                "invalid_value",
                f"min_version must be an integer from 0 to {MAX_VERSION}",
                "min_version",
            )
        )
    return value


def _scope(raw: str | None) -> str | None:
    if raw and NUL in raw:
        _refuse(ValidationFailed("invalid_value", "scope must not contain NUL", "scope"))
    if raw and len(raw) > SCOPE_LENGTH:
        message = f"scope must be at most {SCOPE_LENGTH} characters"
        _refuse(ValidationFailed("invalid_value", message, "scope"))
    return raw or None


@blueprint.route("/users/<ref>/permissions")
@blueprint.doc(
    parameters=[
        {
            "in": "query",
            "name": "scope",
            "schema": {"type": "string", "maxLength": SCOPE_LENGTH},
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
    """Read a user's effective permissions

    `ref` is the user's SCIM id, userName or externalId.
    """
    return permissions_response(
        ref, _scope(request.args.get("scope")), _min_version(request.args.get("min_version"))
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
    """Check permissions: allowed true or false for each

    One or many (user, area, level, scope) checks in one request.
    """
    token = bearer_token()
    try:
        body = blueprint.ARGUMENTS_PARSER.parse(_CHECK_REQUEST, request, location="json")
    except HTTPException as error:  # 400, 413 or 422, by the parser every view uses
        _refuse(error)
    checks = [PermissionCheck(**item) for item in body["checks"]]
    results = permission_reads.check_many(runtime(), token, _READER, checks, body["min_version"])
    return _json({"results": results})
