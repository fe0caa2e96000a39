"""SCIM users and groups, as the SCIM change use cases read and write them.

Rows are the ORM classes themselves (ScimUser, ScimGroup): a use case changes a
row's attributes and hands it back with `save`. The rules the database enforces are
the repositories' contract, kept as well by their in-memory twins (tests/fakes/scim.py):

- userName, compared lower-cased, and externalId are unique among a tenant's users;
  externalId is unique among a tenant's groups.
- A group's members are users and groups of its tenant, one row per direct member;
  removing a user or a group removes its memberships too.
- The users reached through a group are its user members and those of every group
  nested in it, at any depth.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Select, delete, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased, make_transient_to_detached

from service.persistence.base import NUL, column_length
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser

_CHUNK = 500
_ID_LENGTH = column_length(ScimUser.__table__.c.id)


def possible_id(value: str) -> bool:
    """Whether a string could be the id of a SCIM user or group. One that cannot (too
    long for the key column, or holding NUL, which PostgreSQL refuses in a parameter)
    is simply not found, without asking the database."""
    return NUL not in value and len(value) <= _ID_LENGTH


def users_in_groups(session: Session, tenant_id: str, group_ids: Select[Any]) -> set[str]:
    """Users who are members of the given groups or of any group nested in them."""
    start = aliased(ScimGroupMember)
    down = (
        select(ScimGroup.id.label("gid"))
        .where(ScimGroup.tenant_id == tenant_id, ScimGroup.id.in_(group_ids))
        .cte("down", recursive=True)
    )
    nested = aliased(ScimGroupMember)
    down = down.union(
        select(nested.member_id).where(
            nested.tenant_id == tenant_id,
            nested.member_type == "Group",
            nested.group_id == down.c.gid,
        )
    )
    return set(
        session.scalars(
            select(start.member_id)
            .distinct()
            .where(
                start.tenant_id == tenant_id,
                start.member_type == "User",
                start.group_id.in_(select(down.c.gid)),
            )
        )
    )


def groups_within(session: Session, tenant_id: str, group_ids: Select[Any]) -> list[str]:
    """The given groups and every group nested in them, at any depth.

    One query per level of nesting rather than one recursive query: each level is a
    lookup by group id in the index of nesting edges (ix_scim_group_members_nested),
    where a recursive CTE leaves PostgreSQL no estimate of its work table."""
    found = list(
        session.scalars(
            select(ScimGroup.id).where(
                ScimGroup.tenant_id == tenant_id, ScimGroup.id.in_(group_ids)
            )
        )
    )
    seen = set(found)
    frontier = found
    while frontier:
        nested: list[str] = []
        for start in range(0, len(frontier), _CHUNK):
            nested += session.scalars(
                select(ScimGroupMember.member_id).where(
                    ScimGroupMember.tenant_id == tenant_id,
                    ScimGroupMember.member_type == "Group",
                    ScimGroupMember.group_id.in_(frontier[start : start + _CHUNK]),
                )
            )
        frontier = [g for g in dict.fromkeys(nested) if g not in seen]
        seen.update(frontier)
        found += frontier
    return found


def members_after(group_ids: list[str], after: str | None = None) -> Select[tuple[str]]:
    """The statement selecting the direct members of the given groups (users, and the
    groups nested in them), one row per membership; with ``after``, only member ids
    greater than it: a keyset page in the database's own order.

    ``group_ids`` must be groups of one tenant, as `groups_within` returns them: the
    query reads the primary key (group_id, member_id) alone, an index-only scan, so it
    filters neither on the tenant (the group ids carry it) nor on the member type
    (callers drop the nested groups, which `groups_within` lists)."""
    query = select(ScimGroupMember.member_id.label("user_id")).where(
        ScimGroupMember.group_id.in_(group_ids)
    )
    if after is not None:
        query = query.where(ScimGroupMember.member_id > after)
    return query


@functools.cache
def _insert_unless_taken(dialect: str) -> Any:
    """INSERT of one user that the unique indexes on (tenant, lower(userName)) and
    (tenant, externalId) may turn away without an error (ON CONFLICT DO NOTHING), so
    a clash leaves the transaction usable; returns the new id, no row on a clash.
    Built once per dialect; SQLAlchemy's compiled cache keeps its SQL."""
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # On the table, not the mapped class: the ORM's bulk-insert bookkeeping is not
    # needed for a row the session then adopts as loaded (`add` below).
    table = ScimUser.__table__
    return insert_(table).on_conflict_do_nothing().returning(table.c.id)


class FoundUser(NamedTuple):
    """A SCIM user of the tenant: its id and its SCIM `userType` as sent."""

    id: str
    user_type: str | None


def rank_user_match(ref: str, user_id: str, user_name_lower: str) -> int:
    """Which way `ref` names a user: by id (0), userName in any case (1), externalId (2).

    The best match wins, so the answer never depends on row order."""
    return 0 if user_id == ref else (1 if user_name_lower == ref.lower() else 2)


class SqlUsers:
    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, tenant_id: str, ref: str) -> FoundUser | None:
        """The SCIM user `ref` names: its id, userName (any case) or externalId."""
        ref = ref.strip()
        if not ref:
            return None
        rows = self._session.execute(
            select(ScimUser.id, ScimUser.user_name_lower, ScimUser.user_type)
            .where(
                ScimUser.tenant_id == tenant_id,
                or_(
                    ScimUser.id == ref,
                    ScimUser.user_name_lower == ref.lower(),
                    ScimUser.external_id == ref,
                ),
            )
            .limit(3)
        ).all()
        if not rows:
            return None
        best = min(rows, key=lambda row: rank_user_match(ref, row[0], row[1]))
        return FoundUser(best[0], best[2])

    def get(self, tenant_id: str, user_id: str) -> ScimUser | None:
        if not possible_id(user_id):
            return None
        return self._session.scalar(
            select(ScimUser).where(ScimUser.tenant_id == tenant_id, ScimUser.id == user_id)
        )

    def taken(
        self, tenant_id: str, user_name: str, external_id: str | None, own_id: str | None
    ) -> str | None:
        """Which of userName (compared lower-cased) and externalId another user of the
        tenant already has ("userName" first), None when neither; one query."""
        lowered = user_name.lower()
        condition = ScimUser.user_name_lower == lowered
        if external_id is not None:
            condition = or_(condition, ScimUser.external_id == external_id)
        query = select(ScimUser.user_name_lower, ScimUser.external_id).where(
            ScimUser.tenant_id == tenant_id, condition
        )
        if own_id is not None:
            query = query.where(ScimUser.id != own_id)
        clashes = self._session.execute(query.limit(2)).all()
        if any(name == lowered for name, _ in clashes):
            return "userName"
        if external_id is not None and any(ext == external_id for _, ext in clashes):
            return "externalId"
        return None

    def add(self, values: dict[str, Any]) -> ScimUser | None:
        """Store a new user from its column values unless a unique value is taken
        (None then, and nothing stored). One INSERT; the row is then tracked by the
        session as loaded, without the ORM inserting it again."""
        dialect = self._session.get_bind().dialect.name
        if self._session.execute(_insert_unless_taken(dialect), values).first() is None:
            return None
        user = ScimUser(**values)
        make_transient_to_detached(user)
        self._session.add(user)
        return user

    def save(self, user: ScimUser) -> None:
        """Write a changed user now (a constraint it breaks fails here, not at commit)."""
        self._session.flush()

    def remove(self, user: ScimUser) -> None:
        """Delete a user and its group memberships."""
        self._session.execute(
            delete(ScimGroupMember).where(
                ScimGroupMember.tenant_id == user.tenant_id, ScimGroupMember.member_id == user.id
            )
        )
        self._session.delete(user)
        self._session.flush()


class SqlGroups:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, tenant_id: str, group_id: str) -> ScimGroup | None:
        if not possible_id(group_id):
            return None
        return self._session.scalar(
            select(ScimGroup).where(ScimGroup.tenant_id == tenant_id, ScimGroup.id == group_id)
        )

    def external_id_taken(self, tenant_id: str, external_id: str, own_id: str | None) -> bool:
        clash = select(ScimGroup.id).where(
            ScimGroup.tenant_id == tenant_id, ScimGroup.external_id == external_id
        )
        if own_id is not None:
            clash = clash.where(ScimGroup.id != own_id)
        return self._session.scalar(clash.limit(1)) is not None

    def add(self, group: ScimGroup) -> None:
        self._session.add(group)
        self._session.flush()

    def save(self, group: ScimGroup) -> None:
        """Write a changed group now (a constraint it breaks fails here, not at commit)."""
        self._session.flush()

    def remove(self, group: ScimGroup) -> None:
        """Delete a group, its members' rows and its own memberships in other groups."""
        self._session.execute(delete(ScimGroupMember).where(ScimGroupMember.group_id == group.id))
        self._session.execute(
            delete(ScimGroupMember).where(
                ScimGroupMember.tenant_id == group.tenant_id,
                ScimGroupMember.member_id == group.id,
            )
        )
        self._session.delete(group)
        self._session.flush()

    # -- members -----------------------------------------------------------------

    def member_types(self, tenant_id: str, ids: Iterable[str]) -> dict[str, str]:
        """The type ("User" or "Group") of each id that names one of the tenant's."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for table, kind in ((ScimUser, "User"), (ScimGroup, "Group")):
                found.update(
                    dict.fromkeys(
                        self._session.scalars(
                            select(table.id).where(
                                table.tenant_id == tenant_id, table.id.in_(chunk)
                            )
                        ),
                        kind,
                    )
                )
        return found

    def members(self, group_id: str, ids: list[str] | None = None) -> dict[str, str | None]:
        """The direct members among `ids` (all of them when None), with their displays."""
        query = select(ScimGroupMember.member_id, ScimGroupMember.display).where(
            ScimGroupMember.group_id == group_id
        )
        if ids is None:
            return {member: display for member, display in self._session.execute(query)}
        found: dict[str, str | None] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = self._session.execute(query.where(ScimGroupMember.member_id.in_(chunk)))
            found.update((member, display) for member, display in rows)
        return found

    def add_members(
        self,
        tenant_id: str,
        group_id: str,
        types: Mapping[str, str],
        displays: Mapping[str, str | None],
    ) -> None:
        """Insert direct members (id -> type), with the display sent for each."""
        if types:
            self._session.execute(
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

    def remove_members(self, group_id: str, ids: list[str]) -> None:
        for start in range(0, len(ids), _CHUNK):
            self._session.execute(
                delete(ScimGroupMember).where(
                    ScimGroupMember.group_id == group_id,
                    ScimGroupMember.member_id.in_(ids[start : start + _CHUNK]),
                )
            )

    def redisplay(self, group_id: str, displays: Mapping[str, str | None]) -> None:
        for member, display in displays.items():
            self._session.execute(
                update(ScimGroupMember)
                .where(ScimGroupMember.group_id == group_id, ScimGroupMember.member_id == member)
                .values(display=display)
            )

    # -- who is reached through a group -------------------------------------------

    def users_in(self, tenant_id: str, group_id: str) -> set[str]:
        """Every user in the group, directly or through groups nested in it."""
        return users_in_groups(self._session, tenant_id, select(literal(group_id)))

    def users_through(self, tenant_id: str, group_id: str, member_ids: Iterable[str]) -> set[str]:
        """The users that some direct members of a group bring to it: the users among
        them, and everyone in the groups among them. Ask before the rows go."""
        ids = list(member_ids)
        if not ids:
            return set()
        kinds: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            rows = self._session.execute(
                select(ScimGroupMember.member_id, ScimGroupMember.member_type).where(
                    ScimGroupMember.group_id == group_id,
                    ScimGroupMember.member_id.in_(ids[start : start + _CHUNK]),
                )
            )
            kinds.update((member, kind) for member, kind in rows)
        users = {member for member, kind in kinds.items() if kind == "User"}
        for nested in (member for member, kind in kinds.items() if kind == "Group"):
            users |= self.users_in(tenant_id, nested)
        return users
