"""The runtime: every connection-holding object, built once from Settings.

The web app, the CLI and the Celery worker each build one; nothing connects at
import. Tasks find the runtime of their process through `get_runtime()`: in the
embedded default (tasks run in-process) that is the web app's own runtime; in a
worker, the one its Celery app builds (`set_runtime_factory`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.cache.feed_signal import FeedSignal
from service.cache.permission_cache import PermissionCache
from service.cache.rate_limit import RateLimiter, RequestLimits
from service.cache.redis_client import make_redis
from service.persistence.db import make_engine, make_session_factory
from service.persistence.unit_of_work import Committed, UnitOfWork
from service.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

AfterCommitHook = Callable[["Runtime", Committed], None]


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    celery: Celery
    cache: PermissionCache
    request_limits: RequestLimits
    invitation_rates: RateLimiter
    feed_signal: FeedSignal
    after_commit: AfterCommitHook | None = None

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work; its effects are applied by this runtime after it commits."""
        hook = self.after_commit
        if hook is None:
            return UnitOfWork(self.sessions)
        return UnitOfWork(self.sessions, lambda committed: hook(self, committed))

    def send(
        self, task_name: str, kwargs: dict[str, object], request_id: str | None = None
    ) -> None:
        """Send a task by name; with the eager broker it runs here, now.

        The request id travels as a message header, so the worker's log lines
        carry the id of the request that caused them."""
        self.celery.tasks[task_name].apply_async(
            kwargs=kwargs,
            headers={"rolecall_request_id": request_id},
            kwargsrepr=kwargs_summary(kwargs),
        )

    def close(self) -> None:
        if self.cache.memo is not None:
            self.cache.memo.stop()
        self.feed_signal.stop()
        self.engine.dispose()
        self.redis.close()


def kwargs_summary(kwargs: dict[str, object]) -> str:
    """What a task message shows of its arguments (Celery's `kwargsrepr`): lists by
    their length. Celery's default, a `saferepr` of the whole list of a batch's
    user ids, cost the relay a twentieth of its time and told a reader nothing."""
    shown = {
        key: f"<{len(value)} items>" if isinstance(value, list | tuple) else value
        for key, value in kwargs.items()
    }
    return repr(shown)[:1024]


def make_runtime(
    settings: Settings, celery: Celery, after_commit: AfterCommitHook | None = None
) -> Runtime:
    """A runtime around `celery` (the app tasks are sent through) and `after_commit`
    (what follows a unit of work's commit). The composition roots pass them in
    (`service.wiring.build_runtime`, the Celery worker), so nothing below them
    imports the Celery app or the effects."""
    engine = make_engine(settings)
    client = make_redis(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        redis=client,
        celery=celery,
        cache=PermissionCache(
            client,
            settings.redis_key_prefix,
            # The embedded fake Redis lives in this process: no round trip to save.
            memo_tokens=not settings.cache_in_memory,
        ),
        request_limits=RequestLimits(client, settings.redis_key_prefix, settings.rate_limits),
        invitation_rates=RateLimiter(client, settings.redis_key_prefix),
        feed_signal=FeedSignal(client, settings.redis_key_prefix),
        after_commit=after_commit,
    )


_lock = threading.Lock()
_current: Runtime | None = None
_factory: Callable[[], Runtime] | None = None


def set_runtime(runtime: Runtime) -> None:
    global _current
    with _lock:
        _current = runtime


def set_runtime_factory(factory: Callable[[], Runtime]) -> None:
    """How this process builds its runtime when none was set (the Celery worker's)."""
    global _factory
    with _lock:
        _factory = factory


def get_runtime() -> Runtime:
    global _current
    with _lock:
        if _current is None:
            if _factory is None:
                raise RuntimeError("no runtime: the app, the CLI or the worker sets one")
            _current = _factory()
        return _current
