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


def _operation(
    summary: str, success: str, code: str = "200", body: str | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": ["SCIM"],
        "summary": summary,
        "externalDocs": {"url": _RFC},
        "responses": {code: _body(success) if code != "204" else {"description": success}},
    }
    for status in ("400", "401", "404", "409", "412", "415"):
        operation["responses"][status] = _error()
    if body:
        operation["requestBody"] = {"required": True, **_body(body)}
    return operation


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
        spec.path(
            rule=Rule(f"{base}/{endpoint}/<id>"),
            operations={
                "get": _operation(f"Read a {name}", f"The {name}"),
                "put": _operation(f"Replace a {name}", f"The {name}", body=f"A {name}"),
                "patch": _operation(f"Modify a {name}", f"The {name}", body="A PatchOp"),
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
        ("Me", "Not supported: 501"),
    ):
        operations: dict[str, Any] = {"get": _operation(summary, summary)}
        spec.path(rule=Rule(f"{base}/{endpoint}"), operations=operations)
