"""Rate limits in Redis (real or the embedded fake), counted by the `limits` library.

Two limiters share one storage on the runtime's own Redis connection pool, so they
follow its URL (plain, Sentinel or the in-process fake) and its timeouts:

- `RequestLimits`: API requests per tenant and token kind, a sliding window counter
  (one Lua call per batch of permits a process leases; a rejected request is not
  counted, so a caller that keeps hammering is let through again as soon as its window
  allows).
- `RateLimiter`: invitation messages per tenant per minute, a fixed window, which the
  sender asks how many of a batch may go now and how long to wait for the rest.

Keys: `{prefix}rate:LIMITER/{tenant}[/{kind}]/{amount}/{multiples}/{granularity}`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import redis
from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter

log = logging.getLogger("rolecall.rate_limits")

MINUTE = 60


def limits_storage(client: redis.Redis, prefix: str) -> RedisStorage:
    """The `limits` storage over `client`'s connection pool (its documented way to reuse
    a pool), so no second connection is configured from a URL of its own."""
    return RedisStorage(
        "redis://", connection_pool=client.connection_pool, key_prefix=f"{prefix}rate"
    )


def parse_limits(text: str) -> tuple[RateLimitItem, ...]:
    """`"100/second"`, `"100 per second; 3000 per minute"`; empty: no limit."""
    return tuple(parse_many(text)) if text.strip() else ()


class RequestLimits:
    """How many requests each token kind of a tenant may make (`limits` maps a kind to
    its limit strings; a kind not in it, or mapped to "", is not limited and costs no
    round trip).

    Each process takes permits from Redis a few at a time (`limits`' own `cost`) and
    spends them locally for up to `LEASE_SECONDS`, so a busy tenant costs one round trip
    per batch rather than one per request (a round trip is most of a SCIM create's
    overhead beside its database work). The limit still holds across processes: a
    permit is counted in Redis before it is spent, so the tenant may be refused a little
    early (permits a process leased and did not use), never let past it. Small limits
    take one permit at a time, exactly as counted.
    """

    def __init__(self, client: redis.Redis, prefix: str, limits: Mapping[str, str]) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(limits_storage(client, prefix))
        self._items = {kind: parse_limits(text) for kind, text in limits.items()}
        self._batch = {kind: _batch_for(items) for kind, items in self._items.items()}
        self._leases: dict[tuple[str, str], _Lease] = {}
        self._lock = threading.Lock()  # `rolecall dev` and tests serve from threads

    def wait(self, tenant_id: str, kind: str) -> float | None:
        """None if this request of `tenant_id`'s `kind` token may go (and counts it);
        otherwise the seconds until the window lets the next one through."""
        items = self._items.get(kind, ())
        if not items:
            return None
        if self._spend_leased(tenant_id, kind):
            return None
        try:
            batch = self._batch[kind]
            if batch > 1 and self._take(items, tenant_id, kind, batch):
                self._lease(tenant_id, kind, batch - 1)
                return None
            for item in items:
                if not self._limiter.hit(item, tenant_id, kind):
                    reset_at, _ = self._limiter.get_window_stats(item, tenant_id, kind)
                    return max(reset_at - time.time(), 0.0)
        except redis.RedisError as error:
            # Fail open: a limit protects the service from a noisy tenant, and turning a
            # Redis outage into refusing every tenant would be the bigger harm (reads and
            # token checks fall back to the database then, and so does this: to nothing).
            log.warning("rate limit unavailable, request let through: %s", type(error).__name__)
        return None

    def _take(self, items: tuple[RateLimitItem, ...], tenant_id: str, kind: str, n: int) -> bool:
        return all(self._limiter.hit(item, tenant_id, kind, cost=n) for item in items)

    def _spend_leased(self, tenant_id: str, kind: str) -> bool:
        with self._lock:
            lease = self._leases.get((tenant_id, kind))
            if lease is None or lease.remaining < 1 or lease.until <= time.monotonic():
                return False
            lease.remaining -= 1
            return True

    def _lease(self, tenant_id: str, kind: str, permits: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._leases) >= MAX_LEASES:  # many tenants: keep only live leases
                self._leases = {k: v for k, v in self._leases.items() if v.until > now}
            self._leases[(tenant_id, kind)] = _Lease(permits, now + LEASE_SECONDS)


# A leased permit is spent within this long or lost (it stays counted in Redis).
LEASE_SECONDS = 1.0
# The most permits taken at once, and the share of a limit one batch may be: a limit of
# 1,000 per 10 s leases 10 at a time; one under 200 is counted one request at a time.
MAX_BATCH = 10
BATCH_SHARE = 100
MAX_LEASES = 10_000


@dataclass
class _Lease:
    remaining: int
    until: float


def _batch_for(items: tuple[RateLimitItem, ...]) -> int:
    return min((max(1, min(MAX_BATCH, item.amount // BATCH_SHARE)) for item in items), default=1)


class RateLimiter:
    """Invitation messages per tenant, in a fixed window of `window_seconds` (a minute).
    Over the limit, the sender waits for the window to end."""

    def __init__(self, client: redis.Redis, prefix: str, window_seconds: int = MINUTE) -> None:
        self._limiter = FixedWindowRateLimiter(limits_storage(client, prefix))
        self.window_seconds = window_seconds

    def take(self, tenant_id: str, limit: int, wanted: int) -> tuple[int, float]:
        """How many of `wanted` messages may go now (they are counted), and the seconds
        until more may."""
        item = RateLimitItemPerSecond(limit, self.window_seconds)
        # `limits` takes a whole cost or nothing (and a refused hit still counts in a
        # fixed window), so ask what is left first and take at most that. A sender racing
        # in between makes this hit fail: nothing goes now and both wait for the window,
        # which may send fewer than allowed, never more.
        _, remaining = self._limiter.get_window_stats(item, tenant_id)
        granted = min(wanted, remaining)
        if granted and not self._limiter.hit(item, tenant_id, cost=granted):
            granted = 0
        reset_at, _ = self._limiter.get_window_stats(item, tenant_id)
        return granted, max(reset_at - time.time(), 0.0) + 0.05
