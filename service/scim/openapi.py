"""The SCIM endpoints in the OpenAPI document.

They are served by one Flask view over scim2-server rather than flask-smorest
Blueprints, so they are described here by hand, with the SCIM schemas named by
their RFC rather than restated.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from werkzeug.routing import Rule

_SCIM = "application/scim+json"
_RFC = "https://www.rfc-editor.org/rfc/rfc7644"


def _body(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {_SCIM: {"schema": {"type": "object", "additionalProperties": True}}},
    }


def _error() -> dict[str, Any]:
    return _body("A SCIM error (RFC 7644 §3.12): schemas, status as a string, scimType, detail")


# Errors every SCIM operation may answer (RFC 7644 §3.12), 503 included: the
# database unavailable, or a deprovisioning committed whose effect is still pending;
# 429 with Retry-After: the tenant's SCIM rate limit.
_ERRORS = ("400", "401", "403", "404", "409", "412", "415", "429", "503")
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The id the service gave the resource",
}


def _operation(
    summary: str,
    success: str,
    code: str = "200",
    body: str | None = None,
    *,
    also: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An operation answering `code` on success, and any of the SCIM errors (with 413
    when it takes a body; `also` adds other successes, such as 304 or 204)."""
    responses: dict[str, Any] = {
        code: _body(success) if code != "204" else {"description": success}
    }
    for status in also:
        responses[status] = {"description": _NO_BODY[status]}
    for status in _ERRORS + (("413",) if body else ()):
        responses[status] = _error()
    operation: dict[str, Any] = {
        "tags": ["SCIM"],
        "summary": summary,
        "externalDocs": {"url": _RFC},
        "responses": responses,
    }
    if body:
        operation["requestBody"] = {"required": True, **_body(body)}
    return operation


_NO_BODY = {
    "204": "Members added or removed; no attributes were asked for (RFC 7644 §3.5.2)",
    "304": "Not modified since the version named by If-None-Match",
}


def _not_supported(summary: str) -> dict[str, Any]:
    return {
        "tags": ["SCIM"],
        "summary": summary,
        "externalDocs": {"url": f"{_RFC}#section-3.11"},
        "responses": {"501": _body("Not implemented, in the SCIM error format"), "401": _error()},
    }


_QUERY = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
    for name, kind in (
        ("filter", "string"),
        ("sortBy", "string"),
        ("sortOrder", "string"),
        ("startIndex", "integer"),
        ("count", "integer"),
        ("cursor", "string"),
        ("attributes", "string"),
        ("excludedAttributes", "string"),
    )
]


def describe(spec: APISpec, base: str) -> None:
    spec.tag({"name": "SCIM", "description": "SCIM 2.0 service provider (RFC 7643, 7644, 9865)"})
    for endpoint, name in (("Users", "User"), ("Groups", "Group")):
        spec.path(
            rule=Rule(f"{base}/{endpoint}"),
            operations={
                "get": {
                    **_operation(f"List or filter {name}s", "A ListResponse"),
                    "parameters": _QUERY,
                },
                "post": _operation(f"Create a {name}", f"The created {name}", "201", f"A {name}"),
            },
        )
        patch_also = ("204",) if endpoint == "Groups" else ()
        spec.path(
            rule=Rule(f"{base}/{endpoint}/<id>"),
            parameters=[_ID],
            operations={
                "get": {
                    **_operation(f"Read a {name}", f"The {name}", also=("304",)),
                    "parameters": _QUERY[-2:],
                },
                "put": _operation(f"Replace a {name}", f"The {name}", body=f"A {name}"),
                "patch": _operation(
                    f"Modify a {name}", f"The {name}", body="A PatchOp", also=patch_also
                ),
                "delete": _operation(f"Delete a {name}", "Deleted", "204"),
            },
        )
        spec.path(
            rule=Rule(f"{base}/{endpoint}/.search"),
            operations={
                "post": _operation(f"Search {name}s", "A ListResponse", body="A SearchRequest")
            },
        )
    spec.path(
        rule=Rule(f"{base}/.search"),
        operations={
            "post": _operation(
                "Search every resource type", "A ListResponse", body="A SearchRequest"
            )
        },
    )
    spec.path(
        rule=Rule(f"{base}/Bulk"),
        operations={
            "post": _operation("Run a bulk request", "A BulkResponse", body="A BulkRequest")
        },
    )
    for endpoint, summary in (
        ("ServiceProviderConfig", "What this server supports"),
        ("ResourceTypes", "The resource types"),
        ("ResourceTypes/<id>", "One resource type"),
        ("Schemas", "The schemas"),
        ("Schemas/<id>", "One schema"),
    ):
        spec.path(
            rule=Rule(f"{base}/{endpoint}"),
            parameters=[_ID] if endpoint.endswith("<id>") else [],
            operations={"get": _operation(summary, summary)},
        )
    # RFC 7644 §3.11 lets a provider not support /Me; rolecall's tokens belong to an
    # IdP, not to a user, so every method answers 501.
    spec.path(
        rule=Rule(f"{base}/Me"),
        operations={
            method: _not_supported(f"/Me is not supported ({method.upper()})")
            for method in ("get", "post", "put", "patch", "delete")
        },
    )
