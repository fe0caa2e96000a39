"""Jobs: long admin-triggered work (a bulk invite) with exact totals and per-row results.

Totals are counted from the job's rows in SQL whenever they are read, and each row
moves through its states in the same transaction as the invitation it concerns, so
the totals are exact however often a batch task runs again. A job is finished when
no row is queued or processing; whichever task settles the last row records the time.

The use cases (`list_jobs`, `job_detail`, `submitted`) take a unit of work and only
read; the helpers that take a session run inside a caller's unit of work.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.domain.errors import NotFound
from service.persistence.base import utcnow
from service.persistence.invitation_models import Job, JobRow
from service.persistence.unit_of_work import UnitOfWork
from service.services.invitation_input import is_row_id

OPEN_ROW_STATUSES = ("queued", "processing")
# Rows that invited nobody because of something wrong: refused on input, or failed on
# the way (a skipped row names someone invited already, which is not an error).
ERROR_ROW_STATUSES = ("invalid", "failed")
# The columns of a job's row errors as CSV: the input's own names, so a fixed file
# can be sent again once `line`, `status` and `reason` are dropped.
ROW_ERROR_COLUMNS = ("line", "email", "name", "scope_id", "role", "status", "reason")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection):
# such a value from the input is written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Totals:
    rows: int
    invalid: int
    queued: int
    processing: int
    sent: int
    failed: int
    skipped: int

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped

    @property
    def valid(self) -> int:
        return self.rows - self.invalid

    def as_dict(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "valid": self.valid,
            "invalid": self.invalid,
            "queued": self.queued,
            "processing": self.processing,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
        }


def get_job(session: Session, tenant_id: str, job_id: str) -> Job:
    job = (
        session.scalar(select(Job).where(Job.tenant_id == tenant_id, Job.id == job_id))
        if is_row_id(job_id)
        else None
    )
    if job is None:
        raise NotFound("not_found", f"No job {job_id!r}", field="id")
    return job


def totals(session: Session, job: Job) -> Totals:
    counts: dict[str, int] = {
        status: count
        for status, count in session.execute(
            select(JobRow.status, func.count())
            .where(JobRow.job_id == job.id)
            .group_by(JobRow.status)
        )
    }
    return Totals(
        rows=job.total_rows,
        invalid=counts.get("invalid", 0),
        queued=counts.get("queued", 0),
        processing=counts.get("processing", 0),
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
        skipped=counts.get("skipped", 0),
    )


def status_of(job: Job, counted: Totals) -> str:
    if counted.queued + counted.processing == 0:
        return "completed"
    if counted.done == 0 and counted.processing == 0:
        return "queued"
    return "running"


def finish_if_done(session: Session, job_id: str) -> bool:
    still_open = session.scalar(
        select(func.count())
        .select_from(JobRow)
        .where(JobRow.job_id == job_id, JobRow.status.in_(OPEN_ROW_STATUSES))
    )
    if still_open:
        return False
    session.execute(
        update(Job).where(Job.id == job_id, Job.finished_at.is_(None)).values(finished_at=utcnow())
    )
    return True


def rows_page(
    session: Session,
    job: Job,
    *,
    page: int,
    per_page: int,
    status: str | None = None,
    statuses: Iterable[str] = (),
) -> tuple[list[JobRow], int]:
    """One page of the job's rows by line, of `status` (or any of `statuses`) if given."""
    query = select(JobRow).where(JobRow.job_id == job.id)
    if status:
        query = query.where(JobRow.status == status)
    if statuses:
        query = query.where(JobRow.status.in_(tuple(statuses)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(JobRow.line).limit(per_page).offset((page - 1) * per_page)
    )
    return list(rows), total


def list_jobs(
    uow: UnitOfWork, tenant_id: str, *, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the tenant's jobs, newest first, each with its totals; and the total."""
    query = select(Job).where(Job.tenant_id == tenant_id)
    with uow.reading() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.order_by(Job.created_at.desc(), Job.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        return [describe(session, job) for job in rows], total


def progress(uow: UnitOfWork, tenant_id: str, job_id: str) -> dict[str, Any]:
    """The job's status and totals (what `rolecall invite` follows)."""
    with uow.reading() as session:
        return describe(session, get_job(session, tenant_id, job_id))


def job_detail(
    uow: UnitOfWork,
    tenant_id: str,
    job_id: str,
    *,
    page: int,
    per_page: int,
    status: str | None = None,
) -> dict[str, Any]:
    """The job's status and totals, and one page of its rows (`results`)."""
    with uow.reading() as session:
        job = get_job(session, tenant_id, job_id)
        body = describe(session, job)
        rows, total = rows_page(session, job, page=page, per_page=per_page, status=status)
        body.update(
            results=[describe_row(row) for row in rows],
            page=page,
            per_page=per_page,
            total_results=total,
        )
        return body


def submitted(uow: UnitOfWork, tenant_id: str, job_id: str, errors_shown: int) -> dict[str, Any]:
    """A job just submitted: its status and totals, and its first invalid rows (`errors`)."""
    with uow.reading() as session:
        job = get_job(session, tenant_id, job_id)
        body = describe(session, job)
        invalid, _ = rows_page(session, job, page=1, per_page=errors_shown, status="invalid")
        body["errors"] = [describe_row(row) for row in invalid]
        return body


def row_errors(
    uow: UnitOfWork, tenant_id: str, job_id: str, *, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The job's first `limit` rows that invited nobody for a fault (by line), and how
    many there are in all."""
    with uow.reading() as session:
        job = get_job(session, tenant_id, job_id)
        rows, total = rows_page(session, job, page=1, per_page=limit, statuses=ERROR_ROW_STATUSES)
        return [describe_row(row) for row in rows], total


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def row_errors_csv(uow: UnitOfWork, tenant_id: str, job_id: str) -> str:
    """Every row of the job that invited nobody for a fault, as CSV (ROW_ERROR_COLUMNS),
    by line; what the input held is written so that no spreadsheet runs it."""
    with uow.reading() as session:
        job = get_job(session, tenant_id, job_id)
        rows = session.scalars(
            select(JobRow)
            .where(JobRow.job_id == job.id, JobRow.status.in_(ERROR_ROW_STATUSES))
            .order_by(JobRow.line)
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(ROW_ERROR_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    row.line,
                    *(_cell(v) for v in (row.email, row.name, row.scope, row.role)),
                    row.status,
                    _cell(row.reason),
                ]
            )
        return out.getvalue()


def describe_row(row: JobRow) -> dict[str, Any]:
    return {
        "line": row.line,
        "email": row.email,
        "name": row.name,
        "role": row.role,
        "scope": row.scope,
        "account": row.account,
        "status": row.status,
        "reason": row.reason,
        "invitation_id": row.invitation_id,
    }


def describe(session: Session, job: Job) -> dict[str, Any]:
    counted = totals(session, job)
    return {
        "id": job.id,
        "kind": job.kind,
        "status": status_of(job, counted),
        "source": job.source,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "totals": counted.as_dict(),
    }
