"""Recompute jobs: an admin asks for a tenant's (or one user's) permission sets to be
computed again; the work runs in batches on the workers, with progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.persistence.base import Base, UtcDateTime, created_at, uuid_pk


class RecomputeJob(Base):
    __tablename__ = "recompute_jobs"

    id: Mapped[str] = uuid_pk()
    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    user_ref: Mapped[str | None] = mapped_column(String(300))
    total_users: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at()
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_recompute_jobs_tenant_created", "tenant_id", "created_at"),)


class RecomputeBatch(Base):
    """A slice of a job's users; `done_at` is set once, however often its task runs."""

    __tablename__ = "recompute_batches"

    job_id: Mapped[str] = mapped_column(
        ForeignKey("recompute_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    batch: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
