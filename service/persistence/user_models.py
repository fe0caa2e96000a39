"""Tables about users beyond their SCIM resources: the tenant's user type table, the
unmapped-userType warnings already recorded, and the self-registration settings.

A user's SCIM `userType` stays as the IdP sent it (scim_models.ScimUser.user_type);
its seed 001 type is read through the tenant's table whenever it is needed, so
nothing derived is stored per user and a change of the table cannot leave a user
with a stale type.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.persistence.base import Base, UtcDateTime, column_length, created_at, uuid_pk
from service.persistence.permission_models import RoleRow, ScopeRow
from service.persistence.scim_models import ScimUser


def _tenant_fk() -> Mapped[str]:
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


# The longest userType a user can hold is the longest a table entry must take.
USER_TYPE_VALUE = column_length(ScimUser.user_type)
# A value's key is case-folded, and case folding can triple a character ("ﬃ" -> "ffi").
USER_TYPE_KEY = 3 * USER_TYPE_VALUE


class UserTypeEntryRow(Base):
    """A userType value the tenant mapped to one of the four types; `key` is the value
    compared the domain's way (service.domain.user_types.value_key)."""

    __tablename__ = "user_type_entries"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = _tenant_fk()
    key: Mapped[str] = mapped_column(String(USER_TYPE_KEY), nullable=False)
    value: Mapped[str] = mapped_column(String(USER_TYPE_VALUE), nullable=False)
    user_type: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("tenant_id", "key"),)


class UserTypeWarningRow(Base):
    """An unmapped userType value recorded in the audit log for a user, so that it is
    recorded once per user and value, not on every change the IdP sends. `user_id` is
    a SCIM user id kept as a plain string, as assignments keep it; the rows go with
    the user (service.services.scim_users.delete_user)."""

    __tablename__ = "user_type_warnings"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(USER_TYPE_KEY), primary_key=True)
    created_at: Mapped[datetime] = created_at()


class SelfRegistrationSettingsRow(Base):
    """Where self-registered accounts go and which roles a registration may give.

    Scope and roles are named, not referenced by foreign key: deleting a scope or a
    role is decided by its own use case, and a registration that meets a setting
    naming one that is gone is refused naming the setting."""

    __tablename__ = "self_registration_settings"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    # NULL: new accounts are roots of the tenant's tree.
    parent_scope_id: Mapped[str | None] = mapped_column(String(column_length(ScopeRow.id)))
    default_role: Mapped[str | None] = mapped_column(String(column_length(RoleRow.key)))
    # Further roles a registration may name (the default role always may be).
    roles: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
