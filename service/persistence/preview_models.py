"""Stored previews of permission-moving changes (service.services.previews): what was
reviewed, so that what is applied is what was reviewed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.persistence.base import Base, UtcDateTime, created_at, uuid_pk


class PreviewRow(Base):
    """One preview: the change (its kind and validated body), the tenant's model
    version it was computed at, its counts, and the per-user rows of every user whose
    access or conflicts it changes, sorted by user id (``users``)."""

    __tablename__ = "permission_previews"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    change: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    model_version: Mapped[int] = mapped_column(Integer, nullable=False)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    users: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_permission_previews_tenant_id", "tenant_id", "created_at"),)
