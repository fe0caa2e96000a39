"""Wakes long-polling feed readers when their tenant's feed moves.

An appender publishes `{tenant}:{cursor}` on one Redis channel after its commit; each
web process has one listener thread (started lazily, and again after a fork) that
records the newest cursor per tenant and wakes the readers waiting on it. The signal
only shortens a wait: a reader waits at most POLL_SECONDS before it looks at the
database again, so a lost message or a dead subscription costs latency, never a
change. Why by hand: redis-py has the subscription; the fan-out to threads of one
process waiting on different tenants is these few lines.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import redis

log = logging.getLogger("rolecall.cache.feed")


class FeedSignal:
    POLL_SECONDS = 1.0

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self.channel = f"{prefix}feed:moved"
        self._newest: dict[str, int] = {}
        self._moved = threading.Condition()
        self._owner_pid: int | None = None
        self._start_lock = threading.Lock()
        self._stopped = False

    def publish(self, tenant_id: str, cursor: int) -> None:
        """Tell every process the tenant's feed reached `cursor` (best effort)."""
        try:
            self._client.publish(self.channel, f"{tenant_id}:{cursor}")
        except redis.RedisError:
            log.warning("feed signal not published; readers find the change on their next look")

    def wait(self, tenant_id: str, after: int, timeout: float) -> None:
        """Return when the tenant's feed is signalled past `after`, or after `timeout`
        (at most POLL_SECONDS): the caller looks at the database either way."""
        self._ensure_listening()
        with self._moved:
            self._moved.wait_for(
                lambda: self._newest.get(tenant_id, 0) > after,
                timeout=min(timeout, self.POLL_SECONDS),
            )

    def stop(self) -> None:
        self._stopped = True
        self._owner_pid = None

    def _ensure_listening(self) -> None:
        pid = os.getpid()
        if self._owner_pid == pid or self._stopped:
            return
        with self._start_lock:
            if self._owner_pid == pid or self._stopped:
                return
            self._owner_pid = pid
            threading.Thread(
                target=self._listen, args=(pid,), name="rolecall-feed-signal", daemon=True
            ).start()

    def _listen(self, pid: int) -> None:
        while self._owner_pid == pid:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                while self._owner_pid == pid:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._moved_to(message["data"])
            except Exception as error:
                if not self._stopped:
                    log.warning("feed signal unsubscribed: %s", type(error).__name__)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    log.debug("closing the feed signal subscription failed")
            time.sleep(1.0)

    def _moved_to(self, data: bytes | str) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        tenant_id, _, raw = text.rpartition(":")
        try:
            cursor = int(raw)
        except ValueError:
            return
        with self._moved:
            if cursor > self._newest.get(tenant_id, 0):
                self._newest[tenant_id] = cursor
                self._moved.notify_all()
