"""The Celery app, configured from the same Settings as the web app.

`celery -A worker.celery_app worker` uses the module-level `celery` below; building
it connects to nothing. With the embedded default broker, tasks run in-process.
Three queues: `permissions` (latency-sensitive recomputes), `invitations` (mail and
bulk jobs), so a bulk invite never delays a permission update, and `webhooks`
(deliveries to tenants' receivers), so one tenant's dead or slow receivers never
delay anyone's invitations or recomputes.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Celery, signals
from kombu import Queue
from prometheus_client import REGISTRY, multiprocess

from service import metrics
from service.cache.redis_client import celery_broker
from service.observability import configure_logging, set_request_id
from service.runtime import Runtime, get_runtime, make_runtime, set_runtime_factory
from service.services import effects
from service.settings import Settings

PERMISSIONS_QUEUE = "permissions"
INVITATIONS_QUEUE = "invitations"
WEBHOOKS_QUEUE = "webhooks"
SWEEP_INTERVAL_SECONDS = 5.0
FEED_PRUNE_INTERVAL_SECONDS = 3600.0


def make_celery(settings: Settings) -> Celery:
    app = Celery("rolecall", set_as_current=False)
    eager = settings.tasks_eager
    broker_url, sentinel_options = celery_broker(settings.broker_url)
    app.conf.update(
        broker_url="memory://" if eager else broker_url,
        task_always_eager=eager,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            "visibility_timeout": settings.broker_visibility_timeout,
            **sentinel_options,
        },
        # A publish while the broker is down fails fast; the outbox sweep retries it.
        broker_connection_timeout=2,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
        task_queues=[Queue(PERMISSIONS_QUEUE), Queue(INVITATIONS_QUEUE), Queue(WEBHOOKS_QUEUE)],
        task_default_queue=PERMISSIONS_QUEUE,
        task_routes={
            "rolecall.invitations.*": {"queue": INVITATIONS_QUEUE},
            "rolecall.webhooks.*": {"queue": WEBHOOKS_QUEUE},
        },
        beat_schedule={
            "outbox-sweep": {"task": "rolecall.outbox.sweep", "schedule": SWEEP_INTERVAL_SECONDS},
            "feed-prune": {"task": "rolecall.feed.prune", "schedule": FEED_PRUNE_INTERVAL_SECONDS},
            "console-prune": {
                "task": "rolecall.console.prune",
                "schedule": FEED_PRUNE_INTERVAL_SECONDS,
            },
        },
        worker_hijack_root_logger=False,
    )
    from worker import tasks

    tasks.register(app)
    return app


@signals.setup_logging.connect
def _json_logs(**_: Any) -> None:
    configure_logging(Settings.from_env().log_level)


@signals.task_prerun.connect
def _adopt_request_id(task: Any = None, **_: Any) -> None:
    if task is None or task.request.is_eager:
        return  # in-process: the request's own id is already current
    # Every task gets an id: its request's, or a fresh one (never the previous task's).
    set_request_id(getattr(task.request, "rolecall_request_id", None))


@signals.task_prerun.connect
def _start_clock(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is not None:
        _started[task_id or ""] = (task.name, time.perf_counter())


@signals.task_postrun.connect
def _count_task(task_id: str | None = None, state: str | None = None, **_: Any) -> None:
    name, started = _started.pop(task_id or "", ("unknown", None))
    if started is not None:
        metrics.task_duration.labels(name).observe(time.perf_counter() - started)
    metrics.tasks.labels(
        name, "success" if state == "SUCCESS" else (state or "unknown").lower()
    ).inc()


@signals.worker_process_init.connect
def _fresh_runtime(**_: Any) -> None:
    # A forked pool process must not share its parent's database connections.
    get_runtime().engine.dispose(close=False)


@signals.worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    port = Settings.from_env().worker_metrics_port
    if port:
        from prometheus_client import CollectorRegistry, start_http_server

        registry = None
        if metrics.multiprocess_enabled():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        start_http_server(port, addr="0.0.0.0", registry=registry or REGISTRY)


_started: dict[str, tuple[str, float]] = {}

celery = make_celery(Settings.from_env())


def _worker_runtime() -> Runtime:
    # In a worker process tasks use a runtime around this module's Celery app; the web
    # app and the CLI set their own (service.wiring), which in-process tasks then use.
    return make_runtime(Settings.from_env(), celery, effects.after_commit)


set_runtime_factory(_worker_runtime)
