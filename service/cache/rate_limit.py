"""Per-tenant rate limits in Redis (real or fake).

Keys: `{prefix}invitations:rate:{tenant}:{minute}`, one counter per tenant and
minute, expiring once the window is over."""

from __future__ import annotations

import redis


class RateLimiter:
    """A fixed window per tenant and minute: INCR, and EXPIRE so old windows vanish.
    Over the limit, the caller waits for the next window."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def take(self, tenant_id: str, limit: int, now: float, wanted: int) -> tuple[int, float]:
        """How many of `wanted` messages may go now, and the seconds until more may."""
        window = int(now // 60)
        key = f"{self.prefix}invitations:rate:{tenant_id}:{window}"
        pipe = self.client.pipeline()
        pipe.incrby(key, wanted)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
        granted = max(0, min(wanted, limit - (int(count) - wanted)))
        if granted < wanted:
            self.client.decrby(key, wanted - granted)
        return granted, (window + 1) * 60 - now + 0.05
