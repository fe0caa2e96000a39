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
    PreconditionFailedException,
    Resource,
    UniquenessException,
)
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from service.persistence.base import new_id, utcnow
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import affected, propagation
from service.services.audit import record
from service.services.scim_users import etag

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


def get_group(session: Session, tenant_id: str, group_id: str) -> ScimGroup:
    group = session.scalar(
        select(ScimGroup).where(ScimGroup.tenant_id == tenant_id, ScimGroup.id == group_id)
    )
    if group is None:
        raise NotFoundException(detail=f"Group {group_id!r} not found")
    return group


def _check_unique(session: Session, tenant_id: str, resource: Any, own_id: str | None) -> None:
    if resource.external_id is None:
        return
    clash = select(ScimGroup.id).where(
        ScimGroup.tenant_id == tenant_id, ScimGroup.external_id == resource.external_id
    )
    if own_id is not None:
        clash = clash.where(ScimGroup.id != own_id)
    if session.scalar(clash.limit(1)) is not None:
        raise UniquenessException(
            detail=f"externalId {resource.external_id!r} is already taken", attribute="externalId"
        )


def _apply_columns(row: ScimGroup, resource: Any, document: dict[str, Any]) -> None:
    row.display_name = resource.display_name
    row.display_name_lower = resource.display_name.lower()
    row.external_id = resource.external_id
    row.document = document


def _member_types(session: Session, tenant_id: str, ids: Iterable[str]) -> dict[str, str]:
    """The type of each id that names a user or a group of this tenant."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            dict.fromkeys(
                session.scalars(
                    select(ScimUser.id).where(
                        ScimUser.tenant_id == tenant_id, ScimUser.id.in_(chunk)
                    )
                ),
                "User",
            )
        )
        found.update(
            dict.fromkeys(
                session.scalars(
                    select(ScimGroup.id).where(
                        ScimGroup.tenant_id == tenant_id, ScimGroup.id.in_(chunk)
                    )
                ),
                "Group",
            )
        )
    return found


def _resolve_members(
    session: Session, tenant_id: str, group_id: str, ids: Iterable[str]
) -> dict[str, str]:
    ids = list(dict.fromkeys(ids))
    types = _member_types(session, tenant_id, ids)
    unknown = [member for member in ids if member not in types]
    if unknown:
        raise InvalidValueException(
            detail=f"members name no user or group of this tenant: {', '.join(unknown[:5])}",
            attribute="members",
        )
    if group_id in types:
        raise InvalidValueException(detail="a group cannot be a member of itself")
    return types


def _existing(
    session: Session, group_id: str, ids: list[str] | None = None
) -> dict[str, str | None]:
    """The direct members among `ids` (all of them when None), with their displays."""
    query = select(ScimGroupMember.member_id, ScimGroupMember.display).where(
        ScimGroupMember.group_id == group_id
    )
    if ids is None:
        return {member: display for member, display in session.execute(query)}
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(query.where(ScimGroupMember.member_id.in_(chunk)))
        found.update((member, display) for member, display in rows)
    return found


def _insert_members(
    session: Session,
    tenant_id: str,
    group_id: str,
    types: dict[str, str],
    displays: Mapping[str, str | None],
) -> None:
    if types:
        session.execute(
            insert(ScimGroupMember),
            [
                {
                    "tenant_id": tenant_id,
                    "group_id": group_id,
                    "member_id": member,
                    "member_type": kind,
                    "display": displays.get(member),
                }
                for member, kind in types.items()
            ],
        )


def _redisplay(session: Session, group_id: str, displays: Mapping[str, str | None]) -> None:
    for member, display in displays.items():
        session.execute(
            update(ScimGroupMember)
            .where(ScimGroupMember.group_id == group_id, ScimGroupMember.member_id == member)
            .values(display=display)
        )


def _delete_members(session: Session, group_id: str, ids: list[str]) -> None:
    for start in range(0, len(ids), 500):
        session.execute(
            delete(ScimGroupMember).where(
                ScimGroupMember.group_id == group_id,
                ScimGroupMember.member_id.in_(ids[start : start + 500]),
            )
        )


def _touch(row: ScimGroup) -> None:
    row.last_modified = utcnow()
    row.version += 1


def create_group(session: Session, tenant_id: str, actor: str, resource: Any) -> ScimGroup:
    _check_unique(session, tenant_id, resource, None)
    now = utcnow()
    row = ScimGroup(id=new_id(), tenant_id=tenant_id, created=now, last_modified=now, version=1)
    _apply_columns(row, resource, document_of(resource))
    types = _resolve_members(session, tenant_id, row.id, member_ids(resource))
    session.add(row)
    session.flush()
    _insert_members(session, tenant_id, row.id, types, member_displays(resource))
    record(
        session,
        tenant_id,
        actor,
        "scim.group.create",
        "scim_group",
        row.id,
        after={**summary(row), "members_added": sorted(types)},
    )
    propagation.group_changed(UnitOfWork.of(session), tenant_id, row.id)
    return row


def replace_group(
    session: Session,
    tenant_id: str,
    actor: str,
    resource: Any,
    expected_version: str | None = None,
) -> ScimGroup:
    row = get_group(session, tenant_id, resource.id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    document = document_of(resource)
    displays = member_displays(resource)
    current = _existing(session, row.id)
    added = [m for m in displays if m not in current]
    removed = sorted(set(current) - set(displays))
    redisplayed = {
        m: d for m, d in displays.items() if m in current and d is not None and current[m] != d
    }
    if document == row.document and not added and not removed and not redisplayed:
        return row
    _check_unique(session, tenant_id, resource, row.id)
    before = summary(row)
    types = _resolve_members(session, tenant_id, row.id, added)
    _apply_columns(row, resource, document)
    affected.members_leaving(session, tenant_id, row.id, removed)
    _delete_members(session, row.id, removed)
    _insert_members(session, tenant_id, row.id, types, displays)
    _redisplay(session, row.id, redisplayed)
    _touch(row)
    session.flush()
    record(
        session,
        tenant_id,
        actor,
        "scim.group.update",
        "scim_group",
        row.id,
        before=before,
        after={**summary(row), "members_added": sorted(types), "members_removed": removed},
    )
    propagation.group_changed(UnitOfWork.of(session), tenant_id, row.id)
    return row


def change_members(
    session: Session,
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
    row = get_group(session, tenant_id, group_id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    to_add = list(add)
    to_remove = [m for m in dict.fromkeys(remove) if m not in add]
    present = _existing(session, group_id, to_add) if to_add else {}
    new = [m for m in to_add if m not in present]
    types = _resolve_members(session, tenant_id, group_id, new)
    gone = sorted(_existing(session, group_id, to_remove)) if to_remove else []
    if not types and not gone:
        return row, False
    affected.members_leaving(session, tenant_id, group_id, gone)
    _delete_members(session, group_id, gone)
    _insert_members(session, tenant_id, group_id, types, add)
    _touch(row)
    session.flush()
    record(
        session,
        tenant_id,
        actor,
        "scim.group.members",
        "scim_group",
        group_id,
        after={"members_added": sorted(types), "members_removed": gone},
    )
    if types:
        propagation.group_changed(UnitOfWork.of(session), tenant_id, group_id)
    return row, True


def delete_group(
    session: Session, tenant_id: str, actor: str, group_id: str, expected_version: str | None = None
) -> None:
    row = get_group(session, tenant_id, group_id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    before = summary(row)
    affected.group_leaving(session, tenant_id, group_id)
    session.execute(delete(ScimGroupMember).where(ScimGroupMember.group_id == group_id))
    session.execute(
        delete(ScimGroupMember).where(
            ScimGroupMember.tenant_id == tenant_id, ScimGroupMember.member_id == group_id
        )
    )
    session.delete(row)
    session.flush()
    record(session, tenant_id, actor, "scim.group.delete", "scim_group", group_id, before=before)
