"""Rate limits in Redis (real or the embedded fake), counted by the `limits` library.

Two limiters share one storage on the runtime's own Redis connection pool, so they
follow its URL (plain, Sentinel or the in-process fake) and its timeouts:

- `RequestLimits`: API requests per tenant and token kind, a sliding window counter
  (one Lua call per request; a rejected request is not counted, so a caller that keeps
  hammering is let through again as soon as its window allows).
- `RateLimiter`: invitation messages per tenant per minute, a fixed window, which the
  sender asks how many of a batch may go now and how long to wait for the rest.

Keys: `{prefix}rate:LIMITER/{tenant}[/{kind}]/{amount}/{multiples}/{granularity}`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

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
    round trip). Every limit of a kind is one Lua call."""

    def __init__(self, client: redis.Redis, prefix: str, limits: Mapping[str, str]) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(limits_storage(client, prefix))
        self._items = {kind: parse_limits(text) for kind, text in limits.items()}

    def wait(self, tenant_id: str, kind: str) -> float | None:
        """None if this request of `tenant_id`'s `kind` token may go (and counts it);
        otherwise the seconds until the window lets the next one through."""
        items = self._items.get(kind, ())
        try:
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
