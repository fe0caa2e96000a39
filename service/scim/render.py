"""SCIM JSON of our own stored rows, built without a scim2-models round trip.

Why by hand: every resource rolecall stores was validated by scim2-models on the
way in, and its document is that resource's own dump. Reading it back through
the library meant `model_validate` of the document, a deep copy in `publish`,
and a `model_dump` whose context-aware serializers run in Python for every
attribute: about 1 to 2 ms per resource, which was most of a filter lookup and of
a create, and 100 times that for a page of 100 groups. This module does what those
steps amount to for a trusted document: add `id` and `meta`, turn the references
the library would publish (`members.$ref`, `groups.$ref`, the enterprise
`manager.$ref`) into URLs, and drop the top-level attributes named by
`excludedAttributes`. The reference paths are read from scim2-models once per
process, the URL rules are scim2-server's own (`ScimService.reference_location`).

Requests this module does not cover exactly (`attributes`, an excluded
sub-attribute or URN-qualified path, cursors) take the library's path:
`supports()` says which. `tests/scim/test_render.py` proves, for a set of
representative resources and parameters, that the output equals the library's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from scim2_models import Path, Reference, Resource, Returned
from scim2_server.service import ScimService
from scim2_server.utils import parametrize

from service.services.scim_users import etag

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

# pydantic's JSON form of a datetime, the form scim2-models gives meta.created.
_datetime_json = TypeAdapter(datetime).dump_python


@dataclass(frozen=True)
class Record:
    """A stored resource as read from its table: the row, and the multi-valued
    attribute kept in another table (a group's members, a user's groups) when
    it was loaded, with relative `$ref`s as scim2-models stores them."""

    resource_type: str
    row: Any
    related: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class _Shape:
    endpoint: str
    # (extension URN or None, attribute, sub-attribute) of each reference published as a URL.
    references: tuple[tuple[str | None, str, str], ...]
    # lower-cased top-level attribute name -> its JSON key, for excludedAttributes.
    excludable: dict[str, str]
    related: str


class Renderer:
    """Builds response bodies for one ScimService; immutable, one per process."""

    def __init__(self, service: ScimService) -> None:
        self.service = service
        self.shapes: dict[str, _Shape] = {}
        for resource_type in service.provider.resource_types:
            model = service.get_model(resource_type)
            self.shapes[resource_type.name] = _Shape(
                endpoint=service.endpoint_of(resource_type),
                references=_published_references(model),
                excludable=_excludable(model),
                related="members" if resource_type.name == "Group" else "groups",
            )

    # -- what this renderer covers ------------------------------------------

    def supports(self, resource_type: str, parameters: Any) -> bool:
        """Whether the response to these attributes/excludedAttributes is built here."""
        if parameters is None:
            return True
        if getattr(parameters, "attributes", None):
            return False
        shape = self.shapes.get(resource_type)
        if shape is None:
            return False
        for path in getattr(parameters, "excluded_attributes", None) or []:
            name = str(path).lower()
            if name not in shape.excludable:
                return False
        return True

    def excluded(self, resource_type: str, parameters: Any) -> frozenset[str]:
        shape = self.shapes[resource_type]
        paths = getattr(parameters, "excluded_attributes", None) or [] if parameters else []
        return frozenset(shape.excludable[str(p).lower()] for p in paths)

    def wants_related(self, resource_type: str, parameters: Any) -> bool:
        return self.shapes[resource_type].related not in self.excluded(resource_type, parameters)

    # -- bodies ---------------------------------------------------------------

    def location(self, base_url: str, record: Record) -> str:
        shape = self.shapes[record.resource_type]
        return f"{base_url.rstrip('/')}/{shape.endpoint}/{record.row.id}"

    def resource(
        self, base_url: str, record: Record, excluded: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """The resource as scim2-server publishes it: document, id, related, meta."""
        shape = self.shapes[record.resource_type]
        row = record.row
        body: dict[str, Any] = dict(row.document)
        body["id"] = row.id
        if record.related:
            body[shape.related] = [dict(entry) for entry in record.related]
        for extension, attribute, sub in shape.references:
            holder = body
            if extension is not None:
                if not isinstance(body.get(extension), dict):
                    continue
                holder = body[extension] = dict(body[extension])
            value = holder.get(attribute)
            if isinstance(value, list):
                holder[attribute] = value = [
                    dict(item) if isinstance(item, dict) else item for item in value
                ]
                entries = value
            elif isinstance(value, dict):
                holder[attribute] = value = dict(value)
                entries = [value]
            else:
                continue
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get(sub), str):
                    entry[sub] = self.service.reference_location(base_url, entry[sub])
        body["meta"] = {
            "resourceType": record.resource_type,
            "created": _datetime_json(row.created, mode="json"),
            "lastModified": _datetime_json(row.last_modified, mode="json"),
            "location": self.location(base_url, record),
            "version": etag(row.version),
        }
        for key in excluded:
            body.pop(key, None)
        return body

    def headers(self, base_url: str, record: Record) -> dict[str, str]:
        location = self.location(base_url, record)
        return {"Content-Location": location, "ETag": etag(record.row.version)}

    def list_response(
        self,
        base_url: str,
        total: int,
        start_index: int | None,
        records: list[Record],
        excluded: frozenset[str],
    ) -> dict[str, Any]:
        resources = [self.resource(base_url, record, excluded) for record in records]
        body: dict[str, Any] = {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "itemsPerPage": len(resources),
        }
        if start_index is not None:
            body["startIndex"] = start_index
        if resources:
            body["Resources"] = resources
        return body


def _published_references(model: type[Resource[Any]]) -> tuple[tuple[str | None, str, str], ...]:
    """The reference sub-attributes scim2-server's `publish` turns into URLs (its own rule:
    references to resource types, not `external` or `uri` ones)."""
    found = []
    for path in parametrize(Path, model).iter_paths(target_type=[Reference]):
        binding = path.resolve()
        if binding is None or binding.sub_field_name is None or len(path.parts) != 2:
            continue
        reference_types = set(getattr(binding.target_type, "__reference_types__", ()))
        if not reference_types or reference_types & {"external", "uri"}:
            continue
        found.append((path.schema, path.parts[0], path.parts[1]))
    return tuple(found)


def _excludable(model: type[Resource[Any]]) -> dict[str, str]:
    """Top-level attributes that excludedAttributes removes by dropping the key:
    those returned by default (`returned: always` ones stay, the library keeps
    them too). `schemas` and `meta` are left to the library."""
    names: dict[str, str] = {}
    for name, field in model.model_fields.items():
        alias = field.serialization_alias or field.alias or name
        if alias in ("schemas", "meta") or ":" in alias:
            continue
        if model.get_field_annotation(name, Returned) == Returned.default:
            names[alias.lower()] = alias
    return names
