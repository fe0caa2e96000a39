"""What follows a commit: the effects a unit of work recorded, and its outbox rows.

An effect is an outbox row (service.persistence.unit_of_work), so it is never lost:
`after_commit` applies it at once in the process that made the change and deletes its
row; if applying fails, the row stays and the relay hands it to a worker, which
applies it through `apply` (worker.effect_tasks). Every effect is idempotent: it
makes shared state match what the database says now, so applying it twice, or late,
is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from service.domain.errors import Unavailable
from service.observability import log_event
from service.persistence.unit_of_work import Committed, Effect
from service.runtime import Runtime
from service.services import permission_recompute, propagation, relay, tokens

log = logging.getLogger("rolecall.effects")

Handler = Callable[[Runtime, str, str, dict[str, Any]], object]

HANDLERS: dict[str, Handler] = {
    propagation.DEPROVISION: lambda runtime, tenant_id, user_id, payload: (
        permission_recompute.deprovision(runtime, tenant_id, user_id, payload.get("since"))
    ),
    propagation.FORGET_TOKEN: lambda runtime, tenant_id, token_id, payload: tokens.forget(
        runtime, token_id
    ),
    propagation.REFRESH_ANCESTORS: lambda runtime, tenant_id, _object_id, payload: (
        permission_recompute.refresh_ancestors(runtime, tenant_id)
    ),
}


def apply(
    runtime: Runtime, task: str, tenant_id: str, object_id: str, payload: dict[str, Any]
) -> None:
    """Apply one effect (the worker's path, and the fast path below)."""
    HANDLERS[task](runtime, tenant_id, object_id, payload)


def after_commit(runtime: Runtime, committed: Committed) -> None:
    """A unit of work has committed: apply its effects, then send (in `inline` mode) the
    work it recorded. Nothing here undoes or hides the commit: a failure is logged and
    left to the outbox, except that an immediate effect that could not be applied
    raises Unavailable (503, Retry-After) so the caller retries."""
    applied: list[int] = []
    unapplied: list[Effect] = []
    for effect in committed.effects:
        try:
            apply(runtime, effect.task, effect.tenant_id, effect.object_id, effect.payload)
        except Exception as error:
            log_event(log, "effect deferred to the outbox", task=effect.task,
                      error=type(error).__name__)  # fmt: skip
            unapplied.append(effect)
            continue
        if effect.row_id is not None:
            applied.append(effect.row_id)
    rows = [row for row in committed.rows if row.id not in applied]
    try:
        relay.settle(runtime, applied)  # applied here: no worker needs them
        relay.committed(runtime, rows)
    except Exception as error:  # the rows are committed; the sweep sends them
        log_event(log, "after-commit send failed", error=type(error).__name__)
    immediate = [e for e in unapplied if e.task in propagation.IMMEDIATE_EFFECTS]
    if immediate:
        raise Unavailable("the change is saved but not yet in effect everywhere; retry")
