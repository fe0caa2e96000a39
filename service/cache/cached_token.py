"""A token as the cache remembers it: who it belongs to, its kind, and when it expires.

Its own module, because both the Redis cache (`permission_cache`) and the in-process
memo in front of it (`token_memo`) hold these, and neither should import the other
for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CachedToken:
    tenant_id: str
    kind: str
    token_id: str
    expires_at: float  # epoch seconds; 0 when the token does not expire

    def encode(self) -> str:
        return f"{self.tenant_id}|{self.kind}|{self.token_id}|{self.expires_at}"

    @classmethod
    def decode(cls, raw: bytes | str) -> CachedToken:
        text = raw.decode() if isinstance(raw, bytes) else raw
        tenant_id, kind, token_id, expires = text.split("|")
        return cls(tenant_id, kind, token_id, float(expires))
