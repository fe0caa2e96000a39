"""A round trip through the task queue: the web process records a request, a worker
task completes it. /readyz proves the broker is reachable; this proves a worker runs."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from service.domain.errors import NotFound
from service.persistence.base import utcnow
from service.persistence.db import transaction
from service.persistence.models import Heartbeat
from service.persistence.outbox import emit

HEARTBEAT_TASK = "rolecall.heartbeat"


def request_heartbeat(session: Session, tenant_id: str) -> Heartbeat:
    beat = Heartbeat(tenant_id=tenant_id)
    session.add(beat)
    session.flush()
    emit(session, tenant_id, HEARTBEAT_TASK, beat.id)
    return beat


def complete_heartbeat(sessions: sessionmaker[Session], heartbeat_id: str, worker: str) -> None:
    with transaction(sessions) as session:
        beat = session.get(Heartbeat, heartbeat_id, with_for_update=True)
        if beat is None:
            raise NotFound("heartbeat_not_found", f"No heartbeat {heartbeat_id!r}")
        if beat.completed_at is None:  # a redelivered task changes nothing
            beat.completed_at = utcnow()
            beat.worker = worker


def get_heartbeat(session: Session, tenant_id: str, heartbeat_id: str) -> Heartbeat:
    beat = session.get(Heartbeat, heartbeat_id)
    if beat is None or beat.tenant_id != tenant_id:
        raise NotFound("heartbeat_not_found", f"No heartbeat {heartbeat_id!r}", field="id")
    return beat
