"""Tables of the SCIM resources.

Each resource keeps its whole SCIM document as JSON, and copies of the attributes
that filters, uniqueness and the permission engine need as plain indexed columns.
Group members live in their own table, so that adding or removing one member is one
row, never a rewrite of the member list, and so that transitive membership can be
computed in SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.persistence.base import Base, UtcDateTime, uuid_pk

# JSONB on PostgreSQL: its casts to boolean and number are what filters on
# document attributes compile to; SQLite's JSON functions need no such type.
Document = JSON().with_variant(JSONB(), "postgresql")


class ScimUser(Base):
    __tablename__ = "scim_users"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    user_name: Mapped[str] = mapped_column(String(300), nullable=False)
    # userName is caseExact false: uniqueness and filters compare this lower-cased copy.
    user_name_lower: Mapped[str] = mapped_column(String(300), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(300))
    display_name: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    user_type: Mapped[str | None] = mapped_column(String(100))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    document: Mapped[dict[str, Any]] = mapped_column(Document, nullable=False)
    created: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    last_modified: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        Index("uq_scim_users_tenant_user_name", "tenant_id", "user_name_lower", unique=True),
        Index("uq_scim_users_tenant_external_id", "tenant_id", "external_id", unique=True),
        Index("ix_scim_users_tenant_display_name", "tenant_id", func.lower(display_name)),
        Index("ix_scim_users_tenant_id_id", "tenant_id", "id"),
        Index("ix_scim_users_tenant_last_modified", "tenant_id", "last_modified"),
    )


class ScimGroup(Base):
    __tablename__ = "scim_groups"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    display_name: Mapped[str] = mapped_column(String(300), nullable=False)
    display_name_lower: Mapped[str] = mapped_column(String(300), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(300))
    document: Mapped[dict[str, Any]] = mapped_column(Document, nullable=False)
    created: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    last_modified: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __table_args__ = (
        Index("ix_scim_groups_tenant_display_name", "tenant_id", "display_name_lower"),
        Index("uq_scim_groups_tenant_external_id", "tenant_id", "external_id", unique=True),
        Index("ix_scim_groups_tenant_id_id", "tenant_id", "id"),
        Index("ix_scim_groups_tenant_last_modified", "tenant_id", "last_modified"),
    )


class ScimGroupMember(Base):
    """A direct member of a group: a user, or a group (nested groups)."""

    __tablename__ = "scim_group_members"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    group_id: Mapped[str] = mapped_column(
        ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_type: Mapped[str] = mapped_column(String(5), nullable=False)
    # The display the IdP sent with the member, echoed back; when it sent none,
    # reads show the member's own displayName.
    display: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        Index("ix_scim_group_members_member_id", "member_id"),
        # The nesting edges alone (a few hundred rows among millions of user
        # memberships), upwards and downwards: the recursive query for the groups
        # above a user walks them (without this index PostgreSQL scans every
        # membership of the table), and who-can walks the groups nested in a group.
        Index(
            "ix_scim_group_members_nesting",
            "member_id",
            "group_id",
            postgresql_where=text("member_type = 'Group'"),
            sqlite_where=text("member_type = 'Group'"),
        ),
        Index(
            "ix_scim_group_members_nested",
            "group_id",
            "member_id",
            postgresql_where=text("member_type = 'Group'"),
            sqlite_where=text("member_type = 'Group'"),
        ),
    )
