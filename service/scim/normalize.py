"""Rewrites what real identity providers send into what RFC 7643/7644 say, before
scim2-models validates it.

Each rule names the IdP behaviour it exists for. Anything dropped is logged (at
INFO, with the attribute name only, never the value) so that an administrator
can see what an IdP sends that rolecall ignores.

- Entra ID: `"op": "Replace"`; booleans as strings (`"active": "False"`);
  `manager` sent as a bare id string; member removal as
  `{"op": "Remove", "path": "members", "value": [{"value": id}]}`, which RFC 7644
  expresses as `members[value eq "id"]` (scim2-models refuses a value on remove).
- Okta: `id` (readOnly) inside a path-less group replace; PATCH bodies with
  lower-case `operations`.
- Every IdP: attributes and extension schemas rolecall does not know (custom
  Okta/OneLogin/JumpCloud attributes, vendor URNs) are dropped rather than
  refused; an empty `path` means no path; `manager` without `$ref` gets one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp, Resource

log = logging.getLogger("rolecall.scim.normalize")

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_READ_ONLY = {"id", "meta", "groups"}
_BOOLEAN_NAMES = {"active", "primary"}


def _aliases(model: type[Resource[Any]]) -> dict[str, str]:
    """Lower-cased attribute name -> the name scim2-models expects."""
    names: dict[str, str] = {}
    for name, field in model.model_fields.items():
        alias = field.serialization_alias or field.alias or name
        names[alias.lower()] = alias
    return names


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return value


def _fix_booleans(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _boolean(item) if key.lower() in _BOOLEAN_NAMES else _fix_booleans(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_fix_booleans(item) for item in value]
    return value


def _manager(value: Any) -> Any:
    if isinstance(value, str):
        value = {"value": value} if value else None
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        value = {**value, "$ref": f"Users/{value['value']}"}
    return value


def _fix_enterprise(extension: Any) -> Any:
    if isinstance(extension, dict) and "manager" in extension:
        extension = {**extension, "manager": _manager(extension["manager"])}
        if extension["manager"] is None:
            del extension["manager"]
    return extension


def resource_body(body: Any, model: type[Resource[Any]], resource_type: str) -> Any:
    """A User or Group body of POST or PUT, with IdP quirks removed."""
    if not isinstance(body, dict):
        return body
    aliases = _aliases(model)
    known_schemas = {s.lower(): s for s in aliases if s.startswith("urn:")}
    fixed: dict[str, Any] = {}
    for key, value in _fix_booleans(body).items():
        name = aliases.get(key.lower())
        if name is None:
            log.info("ignored unknown %s attribute %s", resource_type, key)
            continue
        fixed[name] = value
    if isinstance(fixed.get("schemas"), list):
        core = str(model.__schema__) if hasattr(model, "__schema__") else None
        schemas = [s for s in fixed["schemas"] if isinstance(s, str)]
        kept = [
            s for s in schemas if s.lower() == (core or "").lower() or s.lower() in known_schemas
        ]
        for dropped in set(schemas) - set(kept):
            log.info("ignored unknown %s schema %s", resource_type, dropped)
        fixed["schemas"] = kept or ([core] if core else [])
    if ENTERPRISE in fixed:
        fixed[ENTERPRISE] = _fix_enterprise(fixed[ENTERPRISE])
    return fixed


def _fix_path_less_value(value: Any, aliases: dict[str, str], resource_type: str) -> Any:
    if not isinstance(value, dict):
        return value
    fixed: dict[str, Any] = {}
    for key, item in value.items():
        lowered = key.lower()
        if lowered in _READ_ONLY or lowered == "schemas":
            continue
        head = lowered.split(".")[0]
        if lowered.startswith("urn:"):
            if lowered.startswith(ENTERPRISE.lower() + ":"):
                if lowered.endswith(":manager"):
                    item = _manager(item)
                fixed[key] = item
            elif lowered in aliases:
                fixed[aliases[lowered]] = (
                    _fix_enterprise(item) if lowered == ENTERPRISE.lower() else item
                )
            else:
                log.info("ignored unknown %s attribute %s", resource_type, key)
            continue
        if head not in aliases:
            log.info("ignored unknown %s attribute %s", resource_type, key)
            continue
        fixed[key] = item
    return fixed


def _split_member_removal(operation: dict[str, Any]) -> list[dict[str, Any]]:
    values = operation.get("value")
    items = values if isinstance(values, list) else [values]
    ids = [item.get("value") for item in items if isinstance(item, dict)]
    if not ids or not all(isinstance(i, str) and i for i in ids):
        return [operation]
    return [{"op": "remove", "path": f"members[value eq {json.dumps(i)}]"} for i in ids]


def _known_path(operation: dict[str, Any], patch_model: type[PatchOp[Any]]) -> bool:
    """Whether scim2-models recognises the operation's path (other errors are left to it)."""
    try:
        patch_model.model_validate(
            {"schemas": [PATCH_SCHEMA], "Operations": [operation]},
            scim_ctx=Context.RESOURCE_PATCH_REQUEST,
        )
    except ValidationError as error:
        return not any("is not an attribute" in str(e.get("msg", "")) for e in error.errors())
    return True


def patch_body(
    body: Any, model: type[Resource[Any]], resource_type: str, patch_model: type[PatchOp[Any]]
) -> Any:
    if not isinstance(body, dict):
        return body
    body = dict(body)
    for key in list(body):
        if key.lower() == "operations" and key != "Operations":
            body["Operations"] = body.pop(key)
    if not body.get("schemas"):
        body["schemas"] = [PATCH_SCHEMA]
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    aliases = _aliases(model)
    fixed: list[Any] = []
    for operation in operations:
        if not isinstance(operation, dict):
            fixed.append(operation)
            continue
        operation = {
            k if k not in ("Op", "Path", "Value") else k.lower(): v for k, v in operation.items()
        }
        if isinstance(operation.get("op"), str):
            operation["op"] = operation["op"].lower()
        path = operation.get("path")
        if isinstance(path, str) and not path.strip():
            operation.pop("path")
            path = None
        if "value" in operation:
            if (
                isinstance(path, str)
                and path.split(".")[-1].split(":")[-1].lower() in _BOOLEAN_NAMES
            ):
                operation["value"] = _boolean(operation["value"])
            operation["value"] = _fix_booleans(operation["value"])
        if isinstance(path, str) and path.lower().endswith(":manager") and "value" in operation:
            operation["value"] = _manager(operation["value"])
        if path is None and operation.get("op") in ("add", "replace"):
            operation["value"] = _fix_path_less_value(
                operation.get("value"), aliases, resource_type
            )
            if operation["value"] == {}:
                continue
        if (
            operation.get("op") == "remove"
            and isinstance(path, str)
            and path.lower() == "members"
            and operation.get("value")
        ):
            fixed.extend(_split_member_removal(operation))
            continue
        if isinstance(path, str) and not _known_path(operation, patch_model):
            # Kept: under rolecall's ScimPolicy it changes nothing, and a PATCH
            # made only of such operations is then a no-op rather than a 400.
            log.info("ignored PATCH of unknown %s attribute %s", resource_type, path)
        fixed.append(operation)
    body["Operations"] = fixed
    return body
