"""Use cases on SCIM groups: create, replace, delete, and adding or removing members.

Members live in `scim_group_members`, one row per direct member. Adding or
removing members touches only the rows named, so a PATCH on a group of any size
costs the same; a replacement (PUT) is applied as a set difference, so members
that stay are never deleted and re-added.

A member id that names no user or group of the tenant is skipped, not refused: the
known members of the same request are applied, and each skip is an audit event
(`scim.group.member_skipped`, with the id and the reason) and a warning in the log.
Okta treats a 400 as final and never retries the valid members of a refused push,
so one stale id would otherwise lose them all (issue 15).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from scim2_models import (
    InvalidValueException,
    NotFoundException,
    Resource,
    UniquenessException,
)

from service.persistence.base import column_length, new_id, utcnow
from service.persistence.repositories.audit import Outcome
from service.persistence.repositories.scim import possible_id
from service.persistence.scim_models import ScimGroup, ScimGroupMember
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation
from service.services.scim_users import check_version
from service.services.scim_values import check_columns, check_document, check_string

log = logging.getLogger("rolecall.scim")

_NOT_STORED = ("id", "meta", "members")
# The SCIM attribute each indexed column copies, to name it when a value does not fit.
_ATTRIBUTES = {
    "display_name": "displayName",
    "display_name_lower": "displayName",
    "external_id": "externalId",
}
MEMBER_SKIPPED = "scim.group.member_skipped"
_UNKNOWN_MEMBER = "names no user or group of this tenant"


class MembersChanged(NamedTuple):
    """What a change of members did: the group, whether it changed, and the member
    ids skipped because they name nothing of the tenant."""

    group: ScimGroup
    changed: bool
    skipped: list[str]


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


def _column_values(resource: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The columns a group's resource decides, refused with 400 invalidValue when one
    would not be stored whole."""
    check_document(document)
    values = {
        "display_name": resource.display_name,
        "display_name_lower": resource.display_name.lower(),
        "external_id": resource.external_id,
        "document": document,
    }
    check_columns(ScimGroup.__table__, values, _ATTRIBUTES)
    return values


def _apply_columns(row: ScimGroup, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(row, key, value)


def check_members(displays: Mapping[str, str | None]) -> None:
    """Member ids and displays fit their columns and hold no NUL (400 invalidValue)."""
    table = ScimGroupMember.__table__
    id_length, display_length = column_length(table.c.member_id), column_length(table.c.display)
    for member, display in displays.items():
        check_string("members.value", member, id_length)
        check_string("members.display", display, display_length)


def _resolve_members(
    uow: UnitOfWork, tenant_id: str, group_id: str, ids: Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """The type of each new member that names a user or a group of the tenant, and the
    ids that name nothing (to skip). A group is no member of itself (400)."""
    ids = list(dict.fromkeys(ids))
    types = uow.groups.member_types(tenant_id, ids)
    unknown = [member for member in ids if member not in types]
    if group_id in types:
        raise InvalidValueException(
            detail="a group cannot be a member of itself", attribute="members"
        )
    return types, unknown


def _record_skipped(
    uow: UnitOfWork, tenant_id: str, actor: str, group: ScimGroup, skipped: list[str]
) -> None:
    """One audit event per skipped member id, the warning an administrator can find
    (and a row of the provisioning log, with the member and why)."""
    for member in skipped:
        log.warning("group %s: skipped member %s, which %s", group.id, member, _UNKNOWN_MEMBER)
        uow.audit.record(
            tenant_id,
            actor,
            MEMBER_SKIPPED,
            "scim_group",
            group.id,
            after={"member": member, "reason": f"the id {_UNKNOWN_MEMBER}"},
            outcome=Outcome.MEMBER_SKIPPED,
            resource_name=group.display_name,
            reason=f"member {member} skipped: the id {_UNKNOWN_MEMBER}",
        )


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
    values = _column_values(resource, document_of(resource))
    check_members(member_displays(resource))
    with uow:
        _check_unique(uow, tenant_id, resource, None)
        now = utcnow()
        row = ScimGroup(id=new_id(), tenant_id=tenant_id, created=now, last_modified=now, version=1)
        _apply_columns(row, values)
        types, skipped = _resolve_members(uow, tenant_id, row.id, member_ids(resource))
        uow.groups.add(row)
        uow.groups.add_members(tenant_id, row.id, types, member_displays(resource))
        uow.audit.record(
            tenant_id,
            actor,
            "scim.group.create",
            "scim_group",
            row.id,
            after={**summary(row), "members_added": sorted(types)},
            outcome=Outcome.APPLIED,
            resource_name=row.display_name,
        )
        _record_skipped(uow, tenant_id, actor, row, skipped)
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
        check_members(displays)
        current = uow.groups.members(row.id)
        # Known ids replace the members; unknown ones are skipped, so a replace never
        # empties a group because one id is stale.
        types, skipped = _resolve_members(
            uow, tenant_id, row.id, [m for m in displays if m not in current]
        )
        _record_skipped(uow, tenant_id, actor, row, skipped)
        removed = sorted(set(current) - set(displays))
        redisplayed = {
            m: d for m, d in displays.items() if m in current and d is not None and current[m] != d
        }
        if document == row.document and not types and not removed and not redisplayed:
            if not skipped:
                uow.audit.record_no_change(tenant_id, actor, "scim_group", row.id, row.display_name)
            return row
        values = _column_values(resource, document)
        _check_unique(uow, tenant_id, resource, row.id)
        before = summary(row)
        _apply_columns(row, values)
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
            outcome=Outcome.APPLIED,
            resource_name=row.display_name,
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
) -> MembersChanged:
    """Add (id -> display) and remove direct members without reading the member list.

    Re-adding a member or removing an absent one changes nothing; an added id that
    names nothing of the tenant is skipped and recorded.
    """
    check_members(add)
    with uow:
        row = get_group(uow, tenant_id, group_id)
        check_version(row, expected_version)
        to_add = list(add)
        # An id that cannot exist is no member: removing it removes nothing.
        to_remove = [m for m in dict.fromkeys(remove) if m not in add and possible_id(m)]
        present = uow.groups.members(group_id, to_add) if to_add else {}
        new = [m for m in to_add if m not in present]
        types, skipped = _resolve_members(uow, tenant_id, group_id, new)
        _record_skipped(uow, tenant_id, actor, row, skipped)
        gone = sorted(uow.groups.members(group_id, to_remove)) if to_remove else []
        if not types and not gone:
            if not skipped:
                uow.audit.record_no_change(tenant_id, actor, "scim_group", row.id, row.display_name)
            return MembersChanged(row, False, skipped)
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
            outcome=Outcome.APPLIED,
            resource_name=row.display_name,
        )
        if types:
            propagation.group_changed(uow, tenant_id, group_id)
    return MembersChanged(row, True, skipped)


def group_unchanged(uow: UnitOfWork, tenant_id: str, actor: str, group_id: str) -> None:
    """A replace or PATCH that leaves the group as stored (found so before the use case
    was called): nothing to store; the provisioning log's row says so."""
    with uow:
        row = get_group(uow, tenant_id, group_id)
        uow.audit.record_no_change(tenant_id, actor, "scim_group", row.id, row.display_name)


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
            tenant_id,
            actor,
            "scim.group.delete",
            "scim_group",
            group_id,
            before=before,
            outcome=Outcome.APPLIED,
            resource_name=before["displayName"],
        )
