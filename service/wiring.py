"""The composition root of the web app and the CLI: a runtime wired to the Celery app
its tasks are sent through and to the effects that follow a commit.

The Celery worker wires its own (worker.celery_app); below these two, nothing imports
the Celery app or the effects, so the layers import downwards only.
"""

from __future__ import annotations

from service.runtime import Runtime, make_runtime
from service.services import effects
from service.settings import Settings
from worker.celery_app import make_celery


def build_runtime(settings: Settings) -> Runtime:
    return make_runtime(settings, make_celery(settings), effects.after_commit)
