"""Use cases on SCIM groups: create, replace, delete, and adding or removing members.

Members live in `scim_group_members`, one row per direct member. Adding or
removing members touches only the rows named, so a PATCH on a group of any size
costs the same; a replacement (PUT) is applied as a set difference, so members
that stay are never deleted and re-added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from scim2_models import (
    InvalidValueException,
    NotFoundException,
    Resource,
    UniquenessException,
)

from service.persistence.base import new_id, utcnow
from service.persistence.scim_models import ScimGroup
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation
from service.services.scim_users import check_version

_NOT_STORED = ("id", "meta", "members")


def document_of(resource: Resource[Any]) -> dict[str, Any]:
    dumped = resource.model_dump()
    for key in _NOT_STORED:
        dumped.pop(key, None)
    return dumped


def summary(group: ScimGroup) -> dict[str, Any]:
    return {"displayName": group.display_name, "externalId": group.external_id}


def member_ids(resource: Any) -> list[str]:
    return [m.value for m in resource.members or [] if m.value]


def member_displays(resource: Any) -> dict[str, str | None]:
    """Member id -> the display the IdP sent with it (None when it sent none)."""
    return {m.value: m.display for m in resource.members or [] if m.value}


def get_group(uow: UnitOfWork, tenant_id: str, group_id: str) -> ScimGroup:
    with uow:
        group = uow.groups.get(tenant_id, group_id)
    if group is None:
        raise NotFoundException(detail=f"Group {group_id!r} not found")
    return group


def _check_unique(uow: UnitOfWork, tenant_id: str, resource: Any, own_id: str | None) -> None:
    if resource.external_id is None:
        return
    if uow.groups.external_id_taken(tenant_id, resource.external_id, own_id):
        raise UniquenessException(
            detail=f"externalId {resource.external_id!r} is already taken", attribute="externalId"
        )


def _apply_columns(row: ScimGroup, resource: Any, document: dict[str, Any]) -> None:
    row.display_name = resource.display_name
    row.display_name_lower = resource.display_name.lower()
    row.external_id = resource.external_id
    row.document = document


def _resolve_members(
    uow: UnitOfWork, tenant_id: str, group_id: str, ids: Iterable[str]
) -> dict[str, str]:
    """The type of each new member; every one must name a user or a group of the
    tenant, and a group is no member of itself."""
    ids = list(dict.fromkeys(ids))
    types = uow.groups.member_types(tenant_id, ids)
    unknown = [member for member in ids if member not in types]
    if unknown:
        raise InvalidValueException(
            detail=f"members name no user or group of this tenant: {', '.join(unknown[:5])}",
            attribute="members",
        )
    if group_id in types:
        raise InvalidValueException(detail="a group cannot be a member of itself")
    return types


def _members_leaving(uow: UnitOfWork, tenant_id: str, group_id: str, ids: list[str]) -> None:
    """Members are about to leave a group: record a recompute of the users they take
    with them (the group's own recompute can no longer reach them). Call it before
    the rows go, while nested groups among them can still be followed to their users."""
    if ids:
        propagation.users_changed(
            uow, tenant_id, uow.groups.users_through(tenant_id, group_id, ids)
        )


def _touch(row: ScimGroup) -> None:
    row.last_modified = utcnow()
    row.version += 1


def create_group(uow: UnitOfWork, tenant_id: str, actor: str, resource: Any) -> ScimGroup:
    with uow:
        _check_unique(uow, tenant_id, resource, None)
        now = utcnow()
        row = ScimGroup(id=new_id(), tenant_id=tenant_id, created=now, last_modified=now, version=1)
        _apply_columns(row, resource, document_of(resource))
        types = _resolve_members(uow, tenant_id, row.id, member_ids(resource))
        uow.groups.add(row)
        uow.groups.add_members(tenant_id, row.id, types, member_displays(resource))
        uow.audit.record(
            tenant_id,
            actor,
            "scim.group.create",
            "scim_group",
            row.id,
            after={**summary(row), "members_added": sorted(types)},
        )
        propagation.group_changed(uow, tenant_id, row.id)
    return row


def replace_group(
    uow: UnitOfWork,
    tenant_id: str,
    actor: str,
    resource: Any,
    expected_version: str | None = None,
) -> ScimGroup:
    """Store the whole new state of a group; its members change as a set difference,
    so members that stay are never deleted and re-added."""
    with uow:
        row = get_group(uow, tenant_id, resource.id)
        check_version(row, expected_version)
        document = document_of(resource)
        displays = member_displays(resource)
        current = uow.groups.members(row.id)
        added = [m for m in displays if m not in current]
        removed = sorted(set(current) - set(displays))
        redisplayed = {
            m: d for m, d in displays.items() if m in current and d is not None and current[m] != d
        }
        if document == row.document and not added and not removed and not redisplayed:
            return row
        _check_unique(uow, tenant_id, resource, row.id)
        before = summary(row)
        types = _resolve_members(uow, tenant_id, row.id, added)
        _apply_columns(row, resource, document)
        _members_leaving(uow, tenant_id, row.id, removed)
        uow.groups.remove_members(row.id, removed)
        uow.groups.add_members(tenant_id, row.id, types, displays)
        uow.groups.redisplay(row.id, redisplayed)
        _touch(row)
        uow.groups.save(row)
        uow.audit.record(
            tenant_id,
            actor,
            "scim.group.update",
            "scim_group",
            row.id,
            before=before,
            after={**summary(row), "members_added": sorted(types), "members_removed": removed},
        )
        propagation.group_changed(uow, tenant_id, row.id)
    return row


def change_members(
    uow: UnitOfWork,
    tenant_id: str,
    actor: str,
    group_id: str,
    add: Mapping[str, str | None],
    remove: Iterable[str] = (),
    expected_version: str | None = None,
) -> tuple[ScimGroup, bool]:
    """Add (id -> display) and remove direct members without reading the member list.

    Re-adding a member or removing an absent one changes nothing. Returns the
    group and whether anything changed.
    """
    with uow:
        row = get_group(uow, tenant_id, group_id)
        check_version(row, expected_version)
        to_add = list(add)
        to_remove = [m for m in dict.fromkeys(remove) if m not in add]
        present = uow.groups.members(group_id, to_add) if to_add else {}
        new = [m for m in to_add if m not in present]
        types = _resolve_members(uow, tenant_id, group_id, new)
        gone = sorted(uow.groups.members(group_id, to_remove)) if to_remove else []
        if not types and not gone:
            return row, False
        _members_leaving(uow, tenant_id, group_id, gone)
        uow.groups.remove_members(group_id, gone)
        uow.groups.add_members(tenant_id, group_id, types, add)
        _touch(row)
        uow.groups.save(row)
        uow.audit.record(
            tenant_id,
            actor,
            "scim.group.members",
            "scim_group",
            group_id,
            after={"members_added": sorted(types), "members_removed": gone},
        )
        if types:
            propagation.group_changed(uow, tenant_id, group_id)
    return row, True


def delete_group(
    uow: UnitOfWork,
    tenant_id: str,
    actor: str,
    group_id: str,
    expected_version: str | None = None,
) -> None:
    """Delete a group and every membership it has or is; everyone it reached, directly
    or through nesting, is recomputed without what it gave them."""
    with uow:
        row = get_group(uow, tenant_id, group_id)
        check_version(row, expected_version)
        before = summary(row)
        propagation.users_changed(uow, tenant_id, uow.groups.users_in(tenant_id, group_id))
        uow.groups.remove(row)
        uow.audit.record(
            tenant_id, actor, "scim.group.delete", "scim_group", group_id, before=before
        )
