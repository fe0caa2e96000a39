"""Admin API: recompute a tenant's (or one user's) cached permission sets, as a job."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import recompute_jobs
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "recomputes",
    __name__,
    url_prefix="/api/v1/recomputes",
    description="Full or partial recomputes of cached permission sets",
)


class RecomputeRequestSchema(Schema):
    user = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "Only this user (id, userName or externalId); else everyone"},
    )


class RecomputeJobSchema(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "running or finished"})
    user = fields.String(allow_none=True)
    total_users = fields.Integer()
    done_users = fields.Integer()
    batches = fields.Integer()
    done_batches = fields.Integer()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


@blueprint.route("", methods=["POST"])
@blueprint.arguments(RecomputeRequestSchema)
@blueprint.response(202, RecomputeJobSchema)
@requires(TokenKind.ADMIN)
def start(body: dict[str, Any]) -> dict[str, Any]:
    """Recompute cached permission sets as a job

    The whole tenant, or one user with `user`.
    """
    job = recompute_jobs.start(uow(), caller().tenant_id, caller().actor, body["user"])
    return recompute_jobs.describe(uow(), caller().tenant_id, job.id)


@blueprint.route("/<job_id>")
@blueprint.response(200, RecomputeJobSchema)
@requires(TokenKind.ADMIN)
def get(job_id: str) -> dict[str, Any]:
    """Read a recompute job's progress"""
    return recompute_jobs.describe(uow(), caller().tenant_id, job_id)
