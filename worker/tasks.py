"""Thin tasks: each takes ids, calls one use case with the process's runtime."""

from __future__ import annotations

import logging
import socket

from celery import Celery

from service.observability import log_event
from service.runtime import get_runtime
from service.services import change_feed, console_sessions, heartbeats, relay
from worker import effect_tasks, invitation_tasks, permission_tasks, webhook_tasks

HEARTBEAT = heartbeats.HEARTBEAT_TASK
OUTBOX_SWEEP = "rolecall.outbox.sweep"
FEED_PRUNE = "rolecall.feed.prune"
CONSOLE_PRUNE = "rolecall.console.prune"

log = logging.getLogger("rolecall.tasks")


def heartbeat(tenant_id: str, object_id: str) -> None:
    heartbeats.complete_heartbeat(
        get_runtime().unit_of_work(), object_id, worker=socket.gethostname()
    )
    log_event(log, "heartbeat completed", tenant_id=tenant_id, heartbeat_id=object_id)


def outbox_sweep() -> int:
    return relay.relay(get_runtime())


def feed_prune() -> int:
    """Forget feed changes older than the retention window (beat, hourly)."""
    runtime = get_runtime()
    return change_feed.prune_all(runtime.unit_of_work(), runtime.settings.feed_retention)


def console_prune() -> int:
    """Forget console sessions and sign-in links that can no longer be used (beat, hourly)."""
    return console_sessions.prune(get_runtime().unit_of_work())


def register(app: Celery) -> None:
    app.task(name=HEARTBEAT, acks_late=True, ignore_result=True)(heartbeat)
    app.task(name=OUTBOX_SWEEP, acks_late=True, ignore_result=True)(outbox_sweep)
    app.task(name=FEED_PRUNE, acks_late=True, ignore_result=True)(feed_prune)
    app.task(name=CONSOLE_PRUNE, acks_late=True, ignore_result=True)(console_prune)
    effect_tasks.register(app)
    invitation_tasks.register(app)
    permission_tasks.register(app)
    webhook_tasks.register(app)
