"""Full or partial recomputes as jobs with progress (`rolecall recompute`, the admin API).

A job splits the tenant's users into batches recorded with it; each batch is an
outbox record, so the work survives a broker outage, and a batch counts as done
once, however often its task runs (a worker killed mid-batch is simply rerun).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from service.domain.errors import NotFound
from service.persistence.base import utcnow
from service.persistence.recompute_models import RecomputeBatch, RecomputeJob
from service.persistence.scim_models import ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.runtime import Runtime
from service.services import permission_recompute
from service.services.audit import record
from service.services.effective import resolve_user_ref

RECOMPUTE_BATCH = "rolecall.permissions.recompute_batch"
BATCH_SIZE = 1000


def start(uow: UnitOfWork, tenant_id: str, actor: str, user_ref: str | None = None) -> RecomputeJob:
    with uow:
        session = uow.session
        if user_ref:
            user_ids = [resolve_user_ref(session, tenant_id, user_ref)]
        else:
            user_ids = list(
                session.scalars(
                    select(ScimUser.id).where(ScimUser.tenant_id == tenant_id).order_by(ScimUser.id)
                )
            )
        job = RecomputeJob(
            tenant_id=tenant_id, actor=actor, user_ref=user_ref, total_users=len(user_ids)
        )
        session.add(job)
        session.flush()
        for number, first in enumerate(range(0, len(user_ids), BATCH_SIZE)):
            session.add(
                RecomputeBatch(
                    job_id=job.id, batch=number, user_ids=user_ids[first : first + BATCH_SIZE]
                )
            )
            uow.emit(tenant_id, RECOMPUTE_BATCH, f"{job.id}:{number}")
        if not user_ids:
            job.finished_at = utcnow()
        record(
            session,
            tenant_id,
            actor,
            "recompute.start",
            "recompute_job",
            job.id,
            after={"user_ref": user_ref, "total_users": len(user_ids)},
        )
        return job


def run_batch(runtime: Runtime, tenant_id: str, object_id: str) -> int:
    """Recompute one batch; mark it (and, with the last batch, the job) done."""
    job_id, _, number = object_id.rpartition(":")
    with runtime.unit_of_work().reading() as session:
        batch = session.get(RecomputeBatch, (job_id, int(number)))
        if batch is None:
            return 0
        user_ids = list(batch.user_ids)
    written = permission_recompute.recompute_users(runtime, tenant_id, user_ids)
    with runtime.unit_of_work() as uow:
        session = uow.session
        session.execute(
            update(RecomputeBatch)
            .where(
                RecomputeBatch.job_id == job_id,
                RecomputeBatch.batch == int(number),
                RecomputeBatch.done_at.is_(None),
            )
            .values(done_at=utcnow())
        )
        open_batches = session.scalar(
            select(func.count())
            .select_from(RecomputeBatch)
            .where(RecomputeBatch.job_id == job_id, RecomputeBatch.done_at.is_(None))
        )
        if not open_batches:
            session.execute(
                update(RecomputeJob)
                .where(RecomputeJob.id == job_id, RecomputeJob.finished_at.is_(None))
                .values(finished_at=utcnow())
            )
    return written


def describe(uow: UnitOfWork, tenant_id: str, job_id: str) -> dict[str, Any]:
    with uow.reading() as session:
        job = session.scalar(
            select(RecomputeJob).where(
                RecomputeJob.tenant_id == tenant_id, RecomputeJob.id == job_id
            )
        )
        if job is None:
            raise NotFound("not_found", f"No recompute job {job_id!r}", "id")
        batches, done_batches, done_users = session.execute(
            select(
                func.count(),
                func.count(RecomputeBatch.done_at),
                func.coalesce(
                    func.sum(func.json_array_length(RecomputeBatch.user_ids)).filter(
                        RecomputeBatch.done_at.is_not(None)
                    ),
                    0,
                ),
            ).where(RecomputeBatch.job_id == job_id)
        ).one()
        return {
            "id": job.id,
            "status": "finished" if job.finished_at else "running",
            "user": job.user_ref,
            "total_users": job.total_users,
            "done_users": int(done_users),
            "batches": batches,
            "done_batches": done_batches,
            "created_at": job.created_at,
            "finished_at": job.finished_at,
        }
