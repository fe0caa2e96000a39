"""Which groups users are in, directly or through nested groups: what the permission
computation (service/services/effective.py) and the assignment checks
(repositories/assignments.py) both need to know which mappings apply to a user.

A fixed number of set-based queries, whatever the number of users or groups: the
direct memberships, then the nesting edges above them (one recursive query).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, Select, select
from sqlalchemy.orm import Session, aliased

from service.domain import GroupRecord
from service.persistence.base import among
from service.persistence.scim_models import ScimGroup, ScimGroupMember


@dataclass
class Memberships:
    """What the queries found for some users.

    ``direct_groups`` maps each user to the groups it is a direct member of;
    ``groups`` holds every group they reach, with ``created`` (when the IdP made each
    one: the earliest a membership of it can have begun); ``edges`` are the nesting
    edges above them, (member group, group).
    """

    direct_groups: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, GroupRecord] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)


def read_memberships(session: Session, tenant_id: str, user_ids: Sequence[str]) -> Memberships:
    found = Memberships()
    if not user_ids:
        return found
    for uid, gid in _member_of(session, tenant_id, found, "User", user_ids):
        found.direct_groups.setdefault(uid, []).append(gid)
    if found.groups:
        above = select(_groups_above(session, tenant_id, user_ids).c.gid)
        found.edges.extend(_member_of(session, tenant_id, found, "Group", above))
    return found


def _member_of(
    session: Session,
    tenant_id: str,
    found: Memberships,
    member_type: str,
    member_ids: Sequence[str] | Select[Any],
) -> Iterator[tuple[str, str]]:
    """(member, group) for each group these members are direct members of; each group
    is remembered in ``found``."""
    member = aliased(ScimGroupMember)
    among_members = (
        member.member_id.in_(member_ids)
        if isinstance(member_ids, Select)
        else among(session, member.member_id, member_ids)
    )
    for member_id, gid, name, external_id, created in session.execute(
        select(
            member.member_id,
            ScimGroup.id,
            ScimGroup.display_name,
            ScimGroup.external_id,
            ScimGroup.created,
        )
        .join(ScimGroup, ScimGroup.id == member.group_id)
        .where(
            member.tenant_id == tenant_id,
            member.member_type == member_type,
            among_members,
        )
    ):
        if gid not in found.groups:
            found.groups[gid] = GroupRecord(gid, name, external_id)
            found.created[gid] = created
        yield member_id, gid


def _groups_above(session: Session, tenant_id: str, user_ids: Sequence[str]) -> CTE:
    """A recursive CTE of every group the users are in, directly or through nesting.

    UNION (not UNION ALL) drops groups already reached, so a cycle of nested
    groups ends the recursion instead of looping.
    """
    start = aliased(ScimGroupMember)
    reach = (
        select(start.group_id.label("gid"))
        .where(
            start.tenant_id == tenant_id,
            start.member_type == "User",
            among(session, start.member_id, user_ids),
        )
        .cte("reach", recursive=True)
    )
    up = aliased(ScimGroupMember)
    return reach.union(
        select(up.group_id).where(
            up.tenant_id == tenant_id,
            up.member_type == "Group",
            up.member_id == reach.c.gid,
        )
    )
