"""Flags that say "a run of this coalescing task for this object waits in the queue"
(the outbox relay sets them as it sends; the task clears them as it starts; see
service.services.relay). Keys: `{prefix}queued:{task}:{tenant}:{object}`, expiring
after TTL_SECONDS so a lost task never blocks its object for long."""

from __future__ import annotations

from collections.abc import Sequence

import redis


class QueuedFlags:
    TTL_SECONDS = 120

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, task: str, tenant_id: str, object_id: str) -> str:
        return f"{self.prefix}queued:{task}:{tenant_id}:{object_id}"

    def flag(self, task: str, tenant_id: str, object_id: str) -> bool:
        """Flag one object queued; False when it was flagged already."""
        return bool(
            self.client.set(self._key(task, tenant_id, object_id), 1, nx=True, ex=self.TTL_SECONDS)
        )

    def flag_many(self, task: str, tenant_id: str, object_ids: Sequence[str]) -> list[bool]:
        """`flag` for many objects in one round trip, in order."""
        with self.client.pipeline(transaction=False) as pipe:
            for object_id in object_ids:
                pipe.set(self._key(task, tenant_id, object_id), 1, nx=True, ex=self.TTL_SECONDS)
            return [bool(was_set) for was_set in pipe.execute()]

    def clear(self, task: str, tenant_id: str, *object_ids: str) -> None:
        if object_ids:
            self.client.delete(*(self._key(task, tenant_id, o) for o in object_ids))
