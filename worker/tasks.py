"""Thin tasks: each takes ids, calls one use case with the process's runtime."""

from __future__ import annotations

import socket

from celery import Celery

from service.runtime import get_runtime
from service.services import heartbeats

HEARTBEAT = "rolecall.heartbeat"


def heartbeat(heartbeat_id: str) -> None:
    heartbeats.complete_heartbeat(get_runtime().sessions, heartbeat_id, worker=socket.gethostname())


def register(app: Celery) -> None:
    app.task(name=HEARTBEAT, acks_late=True, ignore_result=True)(heartbeat)
