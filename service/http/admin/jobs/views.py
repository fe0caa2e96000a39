"""Admin API: jobs (bulk invites) with exact totals and paginated per-row results."""

from __future__ import annotations

from typing import Any

from service.http.admin.jobs.schemas import (
    JobDetailSchema,
    JobPageSchema,
    JobQuerySchema,
    PageQuerySchema,
)
from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import jobs
from service.services.tokens import TokenKind

blueprint = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Jobs")


@blueprint.route("")
@blueprint.arguments(PageQuerySchema, location="query")
@blueprint.response(200, JobPageSchema)
@requires(TokenKind.ADMIN)
def list_jobs(query: dict[str, Any]) -> dict[str, Any]:
    """List jobs, newest first"""
    items, total = jobs.list_jobs(
        uow(), caller().tenant_id, page=query["page"], per_page=query["per_page"]
    )
    return {"items": items, "page": query["page"], "per_page": query["per_page"], "total": total}


@blueprint.route("/<job_id>")
@blueprint.arguments(JobQuerySchema, location="query")
@blueprint.response(200, JobDetailSchema)
@requires(TokenKind.ADMIN)
def get_job(query: dict[str, Any], job_id: str) -> dict[str, Any]:
    """Read a job and a page of its rows

    The job's status and totals, and one page of its rows (filter with `status`).
    """
    return jobs.job_detail(
        uow(),
        caller().tenant_id,
        job_id,
        page=query["page"],
        per_page=query["per_page"],
        status=query.get("status"),
    )
