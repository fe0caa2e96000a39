"""Admin API: a round trip through a worker, to see that tasks run."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from service.http.auth import requires
from service.http.context import caller, uow
from service.http.smorest import Blueprint
from service.services import heartbeats
from service.services.tokens import TokenKind

blueprint = Blueprint(
    "heartbeats", __name__, url_prefix="/api/v1/heartbeats", description="Worker round trips"
)


class HeartbeatSchema(Schema):
    id = fields.String()
    requested_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    worker = fields.String(allow_none=True)


@blueprint.route("", methods=["POST"])
@blueprint.response(202, HeartbeatSchema)
@requires(TokenKind.ADMIN)
def request_heartbeat() -> Any:
    """Send a heartbeat through a worker

    Answers at once; `completed_at` and `worker` are filled in when a worker has run the task (at
    once when tasks run in-process).
    """
    beat = heartbeats.request_heartbeat(uow(), caller().tenant_id)
    # Read again: with tasks run in-process the worker has completed it already.
    return heartbeats.get_heartbeat(uow(), caller().tenant_id, beat.id)


@blueprint.route("/<heartbeat_id>")
@blueprint.response(200, HeartbeatSchema)
@requires(TokenKind.ADMIN)
def get_heartbeat(heartbeat_id: str) -> Any:
    """Read a heartbeat: has a worker run it"""
    return heartbeats.get_heartbeat(uow(), caller().tenant_id, heartbeat_id)
