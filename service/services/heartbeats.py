"""A round trip through the task queue: the web process records a request, a worker
task completes it. /readyz proves the broker is reachable; this proves a worker runs."""

from __future__ import annotations

from service.domain.errors import NotFound
from service.persistence.base import utcnow
from service.persistence.models import Heartbeat
from service.persistence.unit_of_work import UnitOfWork

HEARTBEAT_TASK = "rolecall.heartbeat"


def request_heartbeat(uow: UnitOfWork, tenant_id: str) -> Heartbeat:
    with uow:
        beat = Heartbeat(tenant_id=tenant_id)
        uow.session.add(beat)
        uow.session.flush()
        uow.emit(tenant_id, HEARTBEAT_TASK, beat.id)
        return beat


def complete_heartbeat(uow: UnitOfWork, heartbeat_id: str, worker: str) -> None:
    with uow:
        beat = uow.session.get(Heartbeat, heartbeat_id, with_for_update=True)
        if beat is None:
            raise NotFound("heartbeat_not_found", f"No heartbeat {heartbeat_id!r}")
        if beat.completed_at is None:  # a redelivered task changes nothing
            beat.completed_at = utcnow()
            beat.worker = worker


def get_heartbeat(uow: UnitOfWork, tenant_id: str, heartbeat_id: str) -> Heartbeat:
    with uow.reading() as session:
        beat = session.get(Heartbeat, heartbeat_id)
    if beat is None or beat.tenant_id != tenant_id:
        raise NotFound("heartbeat_not_found", f"No heartbeat {heartbeat_id!r}", field="id")
    return beat
