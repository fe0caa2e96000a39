"""What the provisioning log learns from a SCIM request: who sent it (the IdP named
from the User-Agent), which operation it is, what it asked for, and, when it was
refused, the row that says why.

Nothing here keeps a value an IdP sent except the resource's name (userName or
displayName): `asked` names attributes and PATCH paths only, and a password sent
with a refused request is cut out of the error's detail before it is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from service.metrics import idp_from_user_agent, scim_operation
from service.persistence.repositories.audit import ScimSource
from service.persistence.unit_of_work import UnitOfWork
from service.services import provisioning_log

log = logging.getLogger("rolecall.scim")

RESOURCE_TYPES = {"users": "User", "groups": "Group"}
_OPERATIONS = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}
# The most of a request's description the log keeps (the column is longer).
_ASKED_ITEMS = 12
_REDACTED = "[redacted]"


def operation_of(method: str, path: str) -> str:
    """The operation a request performs: create, replace, patch, delete, bulk, or the
    reads (get, list, search)."""
    resource, operation = scim_operation(method, f"/scim/v2/{path}")
    return "bulk" if resource == "Bulk" else operation


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def resource_of(path: str, body: Any) -> tuple[str | None, str | None, str | None]:
    """(resource type, id, name) of a request on /Users or /Groups, as far as known."""
    segments = _segments(path)
    resource_type = RESOURCE_TYPES.get(segments[0].lower()) if segments else None
    if resource_type is None:
        return None, None, None
    resource_id = segments[1] if len(segments) == 2 and segments[1] != ".search" else None
    name = None
    if isinstance(body, dict):
        found = body.get("userName" if resource_type == "User" else "displayName")
        name = found if isinstance(found, str) else None
    return resource_type, resource_id, name


def _listed(items: list[str]) -> str:
    shown = items[:_ASKED_ITEMS]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _attributes(value: Any) -> list[str]:
    """The attribute names of a resource or a pathless PATCH value (never the values)."""
    if not isinstance(value, dict):
        return []
    return [str(key) for key in value if key not in ("schemas", "id", "meta")]


def asked(method: str, resource_type: str | None, body: Any) -> str:
    """What a write asked for, without any value: "replace active; add members"."""
    kind = resource_type or "resource"
    if method == "PATCH" and isinstance(body, dict):
        steps = []
        for operation in body.get("Operations") or []:
            if not isinstance(operation, dict):
                continue
            op = str(operation.get("op", "")).lower() or "?"
            path = operation.get("path")
            target = str(path) if path else f"({_listed(_attributes(operation.get('value')))})"
            steps.append(f"{op} {target}")
        return f"PATCH {kind}: {'; '.join(steps[:_ASKED_ITEMS]) or 'no operations'}"
    if method in ("PUT", "POST"):
        verb = "replace" if method == "PUT" else "create"
        return f"{method} {kind}: {verb} with {_listed(_attributes(body)) or 'no attributes'}"
    return f"{method} {kind}"


def scim_source(method: str, path: str, user_agent: str | None, body: Any) -> ScimSource:
    """The provisioning log's view of one request (or one operation of a bulk request)."""
    resource_type, _, _ = resource_of(path, body)
    return ScimSource(
        idp=idp_from_user_agent(user_agent),
        user_agent=user_agent,
        operation=operation_of(method, path),
        asked=asked(method, resource_type, body),
    )


def _passwords(value: Any) -> list[str]:
    """Every password value in a request body (a resource's, or a PATCH's)."""
    found: list[str] = []
    if isinstance(value, dict):
        path = value.get("path")
        if isinstance(path, str) and path.lower().endswith("password"):
            found += [value["value"]] if isinstance(value.get("value"), str) else []
        for key, item in value.items():
            if key.lower().endswith("password") and isinstance(item, str):
                found.append(item)
            else:
                found += _passwords(item)
    elif isinstance(value, list):
        for item in value:
            found += _passwords(item)
    return found


@dataclass(frozen=True)
class Refusal:
    """A SCIM error as the log keeps it: its status, scimType and detail."""

    status: int
    scim_type: str | None
    detail: str

    @classmethod
    def of(cls, error: Any) -> Refusal:
        """From a SCIMException or a scim2-models Error (a bulk operation's response)."""
        detail = error.detail or type(error).__name__
        return cls(int(error.status or 500), error.scim_type, str(detail))

    def is_rejection(self, method: str) -> bool:
        """A 4xx that refused what an IdP asked. A read that finds nothing (404 on a
        GET) is an answer, not a refusal: IdPs look a user up before creating them."""
        return 400 <= self.status < 500 and not (method == "GET" and self.status == 404)

    def reason(self, body: Any) -> str:
        """The reason "<status> <scimType>: <detail>", with any password the request
        sent cut out of the detail."""
        detail = self.detail
        for password in _passwords(body):
            if password:
                detail = detail.replace(password, _REDACTED)
        scim_type = f" {self.scim_type}" if self.scim_type else ""
        return f"{self.status}{scim_type}: {detail}"


def record_rejected(
    uow: UnitOfWork,
    tenant_id: str,
    actor: str,
    source: ScimSource,
    path: str,
    body: Any,
    refusal: Refusal,
) -> None:
    """Keep a refused request (or bulk operation) in the provisioning log. A request's
    own transaction was rolled back, so its row is written in a unit of work of its own;
    a bulk operation's joins the bulk request's. Recording never fails the response: a
    failure here is logged and the IdP still gets its SCIM error."""
    resource_type, resource_id, name = resource_of(path, body)
    try:
        provisioning_log.record_rejected(
            uow,
            tenant_id,
            actor,
            source,
            resource_type=resource_type,
            resource_id=resource_id,
            resource_name=name,
            status=refusal.status,
            scim_type=refusal.scim_type,
            reason=refusal.reason(body),
        )
    except Exception:
        log.exception("could not record a rejected SCIM request in the provisioning log")


def bulk_operation_source(request_source: ScimSource, operation: Any) -> tuple[ScimSource, Any]:
    """The source of one operation of a bulk request (its own operation and what it
    asked, the request's IdP), and its data as JSON."""
    method = str(operation.method.value if operation.method else "")
    path = (operation.path or "").lstrip("/")
    data = operation.data.model_dump(mode="json", by_alias=True) if operation.data else None
    resource_type, _, _ = resource_of(path, data)
    source = replace(
        request_source,
        operation=_OPERATIONS.get(method, method.lower()),
        asked=f"Bulk {asked(method, resource_type, data)}",
    )
    return source, data
