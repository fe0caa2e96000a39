"""The Celery app, configured from the same Settings as the web app.

`celery -A worker.celery_app worker` uses the module-level `celery` below; building
it connects to nothing. With the embedded default broker, tasks run in-process.
"""

from __future__ import annotations

from celery import Celery

from service.settings import Settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("rolecall", set_as_current=False)
    eager = settings.tasks_eager
    app.conf.update(
        broker_url="memory://" if eager else settings.broker_url,
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
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
    )
    from worker import tasks

    tasks.register(app)
    return app


celery = make_celery(Settings.from_env())
