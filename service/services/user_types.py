"""Use cases on a tenant's user type table: how SCIM `userType` values read as seed 001's
four types (service.domain.user_types), and what a value the table does not map leaves
behind.

- A user's userType is kept as the IdP sent it; the type is read through the table
  whenever a permission set is computed (the table comes with the tenant's model) or
  an account assignment is checked. So changing the table changes every affected
  user's type at once: `set_table` recomputes exactly the active users whose value
  now reads differently (their account rules depend on it), through the outbox.
- An unmapped value is a warning in the audit log (`UNMAPPED`), recorded once per
  user and value (`note_user_type`, called by the SCIM user use cases), and shown on
  the user by the admin permissions and explain answers.
"""

from __future__ import annotations

from typing import Any

from service.domain.user_types import NAMED, UserTypeTable, tenant_entries, value_key
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation
from service.services.permission_model import bump_model_version

UNMAPPED = "scim.user.user_type_unmapped"


def note_user_type(
    uow: UnitOfWork, tenant_id: str, actor: str, user_id: str, raw: str | None
) -> None:
    """Record in the audit log that the user's userType maps to none of the four types,
    the first time this user holds this value (not on every PATCH the IdP sends)."""
    # A value that names one of the four types is that type whatever the tenant's
    # table says, so the usual SCIM write reads no table.
    if raw is None or value_key(raw) in NAMED:
        return
    reading = uow.user_types.table(tenant_id).read(raw)
    if reading.unmapped and uow.user_types.warn_once(tenant_id, user_id, value_key(raw)):
        uow.audit.record(
            tenant_id,
            actor,
            UNMAPPED,
            "scim_user",
            user_id,
            after={
                "userType": raw,
                "message": f"userType {raw!r} is none of the four user types; the user has "
                "no type until the tenant's user type table maps it",
            },
        )


def _described(uow: UnitOfWork, tenant_id: str, table: UserTypeTable) -> dict[str, Any]:
    in_use = uow.user_types.values_in_use(tenant_id)
    return {
        "mappings": _mappings(table),
        "table": table.rows(),
        "unmapped": [
            {"value": value, "users": count}
            for value, count in sorted(in_use.items())
            if table.read(value).unmapped
        ],
    }


def _mappings(table: UserTypeTable) -> dict[str, str]:
    return {entry.value: entry.user_type.value for _, entry in sorted(table.entries.items())}


def get_table(uow: UnitOfWork, tenant_id: str) -> dict[str, Any]:
    """The tenant's entries, the whole table they make with the defaults, and the values
    its active users hold that it does not map (with how many hold each)."""
    with uow:
        return _described(uow, tenant_id, uow.user_types.table(tenant_id))


def set_table(
    uow: UnitOfWork, tenant_id: str, mappings: dict[str, str], actor: str
) -> dict[str, Any]:
    """Make `mappings` (userType value -> type) the tenant's entries, and recompute the
    active users whose value reads differently now. Audited, with what changed."""
    entries = tenant_entries(mappings)
    with uow:
        # The table is part of the tenant's model: a new version makes every process
        # load it again. Whom it affects is known here, so not the whole tenant.
        bump_model_version(uow.session, tenant_id, recompute_tenant=False)
        before = uow.user_types.table(tenant_id)
        after = UserTypeTable(entries)
        uow.user_types.replace(tenant_id, entries)
        in_use = uow.user_types.values_in_use(tenant_id)
        changed = after.differs_from(before, in_use)
        propagation.users_changed(
            uow, tenant_id, uow.user_types.active_users_holding(tenant_id, changed)
        )
        uow.audit.record(
            tenant_id,
            actor,
            "user_types.update",
            "user_types",
            tenant_id,
            before={"mappings": _mappings(before)},
            after={
                "mappings": _mappings(after),
                "read_differently": {
                    value: {
                        "before": _type_name(before, value),
                        "after": _type_name(after, value),
                        "users": in_use[value],
                    }
                    for value in sorted(changed)
                },
            },
        )
        return _described(uow, tenant_id, after)


def _type_name(table: UserTypeTable, value: str) -> str | None:
    found = table.type_of(value)
    return None if found is None else found.value
