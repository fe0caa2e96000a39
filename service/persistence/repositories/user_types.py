"""A tenant's user type table and the unmapped-userType warnings, as use cases read
and write them (service.services.scim_users, .assignments, .user_types).

Its in-memory twin is tests/fakes/user_types.py. The contract:

- `table` is the tenant's entries over the domain's defaults; a tenant without
  entries has the defaults alone.
- `warn_once` is true the first time it is asked for a (tenant, user, value key),
  and false ever after, also when two transactions ask at once (the primary key
  decides), until `forget_user`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.domain import UserType
from service.domain.user_types import Entry, UserTypeTable
from service.persistence.base import new_id, utcnow
from service.persistence.scim_models import ScimUser
from service.persistence.user_models import UserTypeEntryRow, UserTypeWarningRow

_CHUNK = 500


def load_table(session: Session, tenant_id: str) -> UserTypeTable:
    """The tenant's table (one query); the permission model loads it the same way."""
    rows = session.execute(
        select(UserTypeEntryRow.key, UserTypeEntryRow.value, UserTypeEntryRow.user_type).where(
            UserTypeEntryRow.tenant_id == tenant_id
        )
    )
    return UserTypeTable({key: Entry(value, UserType(kind)) for key, value, kind in rows})


@functools.cache
def _insert_warning(dialect: str) -> Any:
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = UserTypeWarningRow.__table__
    return insert_(table).on_conflict_do_nothing().returning(table.c.key)


class SqlUserTypes:
    def __init__(self, session: Session) -> None:
        self._session = session

    def table(self, tenant_id: str) -> UserTypeTable:
        return load_table(self._session, tenant_id)

    def replace(self, tenant_id: str, entries: Mapping[str, Entry]) -> None:
        """Make `entries` (by value key) the tenant's whole table."""
        self._session.execute(
            delete(UserTypeEntryRow).where(UserTypeEntryRow.tenant_id == tenant_id)
        )
        if entries:
            self._session.execute(
                insert(UserTypeEntryRow),
                [
                    {
                        "id": new_id(),
                        "tenant_id": tenant_id,
                        "key": key,
                        "value": entry.value,
                        "user_type": entry.user_type.value,
                        "created_at": utcnow(),
                    }
                    for key, entry in entries.items()
                ],
            )

    def warn_once(self, tenant_id: str, user_id: str, key: str) -> bool:
        """Whether this is the first warning about value `key` for the user (and
        remember that it was given)."""
        dialect = self._session.get_bind().dialect.name
        values = {"tenant_id": tenant_id, "user_id": user_id, "key": key, "created_at": utcnow()}
        return self._session.execute(_insert_warning(dialect), values).first() is not None

    def forget_user(self, tenant_id: str, user_id: str) -> None:
        self._session.execute(
            delete(UserTypeWarningRow).where(
                UserTypeWarningRow.tenant_id == tenant_id, UserTypeWarningRow.user_id == user_id
            )
        )

    def values_in_use(self, tenant_id: str) -> dict[str, int]:
        """Every userType value the tenant's active users hold, with how many hold it."""
        rows = self._session.execute(
            select(ScimUser.user_type, func.count())
            .where(
                ScimUser.tenant_id == tenant_id,
                ScimUser.active.is_(True),
                ScimUser.user_type.is_not(None),
            )
            .group_by(ScimUser.user_type)
        )
        return {value: count for value, count in rows}

    def active_users_holding(self, tenant_id: str, values: Iterable[str]) -> list[str]:
        """The active users whose userType is one of `values` (as stored)."""
        wanted = sorted(set(values))
        found: list[str] = []
        for start in range(0, len(wanted), _CHUNK):
            found += self._session.scalars(
                select(ScimUser.id).where(
                    ScimUser.tenant_id == tenant_id,
                    ScimUser.active.is_(True),
                    ScimUser.user_type.in_(wanted[start : start + _CHUNK]),
                )
            )
        return found
