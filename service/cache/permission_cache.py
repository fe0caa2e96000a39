"""The versioned permission cache in Redis.

Each user's effective permission set lives in one hash,
`{prefix}perm:{tenant}:{user}` with fields `v` (version), `body` (the JSON apps
read), `un` (lower-cased userName) and `ex` (externalId). Aliases
`{prefix}refu:{tenant}:{username}` and `{prefix}refx:{tenant}:{externalId}`
point at the user id, so apps may ask by any of the three.

Rules, each enforced inside Redis by a Lua script so no interleaving of
processes can break them:
- a write never replaces a set with a higher version (`store`), and says whether
  the permissions themselves changed (for webhooks);
- a deprovisioning write is an empty set at a fresh version, so a recompute
  that started before it cannot bring the old set back (`store` again);
- a read authenticates the token and fetches every set it needs in one round
  trip (`read`): the hot path of the read API is a single EVALSHA.

Versions are microseconds of the database clock taken before the data was read
(see service.services.permission_recompute), so a higher version never holds older
data. Cached tokens are `{prefix}tok:{hash}` (service.cache.cached_token), and a
scope's ancestor chain `{prefix}anc:{tenant}:{scope}`, published per model version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import redis

from service.cache.cached_token import CachedToken
from service.cache.token_memo import TokenMemo

_STORE = """
local current = redis.call('HGET', KEYS[1], 'v')
if current and tonumber(current) > tonumber(ARGV[1]) then
  return 0
end
local old_un = redis.call('HGET', KEYS[1], 'un')
local old_ex = redis.call('HGET', KEYS[1], 'ex')
local old_digest = redis.call('HGET', KEYS[1], 'h')
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'body', ARGV[2], 'un', ARGV[3], 'ex', ARGV[4],
           'h', ARGV[9])
if tonumber(ARGV[6]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[6])
end
local by_name, by_external = ARGV[5], ARGV[8]
if old_un and old_un ~= '' and old_un ~= ARGV[3] then
  redis.call('DEL', by_name .. old_un)
end
if old_ex and old_ex ~= '' and old_ex ~= ARGV[4] then
  redis.call('DEL', by_external .. old_ex)
end
if ARGV[3] ~= '' then redis.call('SET', by_name .. ARGV[3], ARGV[7]) end
if ARGV[4] ~= '' then redis.call('SET', by_external .. ARGV[4], ARGV[7]) end
if old_digest == ARGV[9] then return 1 end
return 2
"""

# A revoked or changed token leaves a tombstone for longer than a cached token lives,
# so a request that read the database just before the change cannot cache it again.
_REMEMBER_TOKEN = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

# ARGV: prefix, token hash, then (ref, lower-cased ref) pairs, then '--', then scope ids.
# Returns: token record (or false), one body per ref (or false), one ancestor list per scope.
_READ = """
local prefix = ARGV[1]
local token = redis.call('GET', prefix .. 'tok:' .. ARGV[2])
if not token then return {false} end
local tenant = string.match(token, '^([^|]+)')
local base = prefix .. 'perm:' .. tenant .. ':'
local out = {token}
local i = 3
while i <= #ARGV and ARGV[i] ~= '--' do
  local ref, lowered = ARGV[i], ARGV[i + 1]
  local body = redis.call('HGET', base .. ref, 'body')
  if not body then
    local id = redis.call('GET', prefix .. 'refu:' .. tenant .. ':' .. lowered)
    if id and redis.call('HGET', base .. id, 'un') == lowered then
      body = redis.call('HGET', base .. id, 'body')
    else
      id = redis.call('GET', prefix .. 'refx:' .. tenant .. ':' .. ref)
      if id and redis.call('HGET', base .. id, 'ex') == ref then
        body = redis.call('HGET', base .. id, 'body')
      end
    end
  end
  out[#out + 1] = body or false
  i = i + 2
end
i = i + 1
while i <= #ARGV do
  out[#out + 1] = redis.call('GET', prefix .. 'anc:' .. tenant .. ':' .. ARGV[i]) or false
  i = i + 1
end
return out
"""


# KEYS: the tenant's ancestors version, the set of scope ids published under it.
# ARGV: the key prefix of one scope's chain, the model version, then (scope id, chain)
# pairs. Replaces every chain of the tenant unless a newer model's chains are there:
# a deleted scope's chain goes, a moved scope's chain is its new one, and a recompute
# that read an older model cannot bring the old tree back.
_PUBLISH_ANCESTORS = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[2]) then return 0 end
local prefix = ARGV[1]
for _, scope in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('DEL', prefix .. scope)
end
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do
  redis.call('SET', prefix .. ARGV[i], ARGV[i + 1])
  redis.call('SADD', KEYS[2], ARGV[i])
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


class StoreResult(IntEnum):
    REFUSED = 0  # a newer version is cached; nothing written
    SAME = 1  # written; the permissions are what they were
    CHANGED = 2  # written; the permissions differ from the previous set

    def __bool__(self) -> bool:
        return self is not StoreResult.REFUSED


@dataclass(frozen=True)
class ReadResult:
    token: CachedToken | None
    bodies: list[bytes | None]
    ancestors: dict[str, tuple[str, ...] | None]


@dataclass(frozen=True)
class CacheEntry:
    tenant_id: str
    user_id: str
    version: int
    body: str  # JSON, as apps receive it
    user_name: str = ""
    external_id: str = ""
    digest: str = ""  # of the permissions alone, without version and time


class PermissionCache:
    """Versioned permission sets, cached tokens and scope ancestors in one Redis."""

    TOKEN_TTL_SECONDS = 300

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        entry_ttl_seconds: int = 0,
        memo_tokens: bool = False,
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.entry_ttl_seconds = entry_ttl_seconds
        # Tokens this process saw lately (service.cache.token_memo); None: always ask Redis.
        self.memo = TokenMemo(client, self.tokens_channel) if memo_tokens else None
        self._store = client.register_script(_STORE)
        self._read = client.register_script(_READ)
        self._remember_token = client.register_script(_REMEMBER_TOKEN)
        self._publish_ancestors = client.register_script(_PUBLISH_ANCESTORS)

    def _perm_key(self, tenant_id: str, user_id: str) -> str:
        return f"{self.prefix}perm:{tenant_id}:{user_id}"

    # -- permission sets -------------------------------------------------------------

    def store(self, entry: CacheEntry) -> StoreResult:
        """Write `entry` unless a newer version is cached."""
        key = self._perm_key(entry.tenant_id, entry.user_id)
        return StoreResult(self._store(keys=[key], args=self._store_args(entry)))

    def store_many(self, entries: Sequence[CacheEntry]) -> list[StoreResult]:
        """`store` for a batch in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for entry in entries:
            self._store(
                keys=[self._perm_key(entry.tenant_id, entry.user_id)],
                args=self._store_args(entry),
                client=pipe,
            )
        return [StoreResult(result) for result in pipe.execute()]

    def _store_args(self, entry: CacheEntry) -> list[Any]:
        return [
            entry.version,
            entry.body,
            entry.user_name.lower(),
            entry.external_id,
            f"{self.prefix}refu:{entry.tenant_id}:",
            self.entry_ttl_seconds,
            entry.user_id,
            f"{self.prefix}refx:{entry.tenant_id}:",
            entry.digest,
        ]

    def version_of(self, tenant_id: str, user_id: str) -> int | None:
        raw = self.redis.hget(self._perm_key(tenant_id, user_id), "v")
        return int(raw) if raw is not None else None

    def body_of(self, tenant_id: str, user_id: str) -> dict[str, Any] | None:
        raw = self.redis.hget(self._perm_key(tenant_id, user_id), "body")
        return json.loads(raw) if raw is not None else None

    def evict(self, tenant_id: str, user_id: str) -> None:
        """Forget a set (as Redis eviction would); the next read computes it again."""
        self.redis.delete(self._perm_key(tenant_id, user_id))

    # -- tokens ----------------------------------------------------------------------

    def remember_token(self, token_hash: str, token: CachedToken) -> bool:
        keys = [f"{self.prefix}tok:{token_hash}", f"{self.prefix}tokdead:{token_hash}"]
        return bool(self._remember_token(keys=keys, args=[token.encode(), self.TOKEN_TTL_SECONDS]))

    def forget_token(self, token_hash: str) -> None:
        """After a token is revoked or its expiry changed: drop it and keep it out."""
        if self.memo is not None:
            self.memo.drop(token_hash)
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(f"{self.prefix}tokdead:{token_hash}", 1, ex=self.TOKEN_TTL_SECONDS * 2)
        pipe.delete(f"{self.prefix}tok:{token_hash}")
        pipe.publish(self.tokens_channel, token_hash)  # every process's memo drops it
        pipe.execute()

    @property
    def tokens_channel(self) -> str:
        return f"{self.prefix}tokens:forget"

    def cached_token(self, token_hash: str) -> CachedToken | None:
        memo = self.memo
        if memo is not None:
            seen = memo.get(token_hash)
            if seen is not None:
                return seen
            generation = memo.generation()
        raw = self.redis.get(f"{self.prefix}tok:{token_hash}")
        if raw is None:
            return None
        token = CachedToken.decode(raw)
        if memo is not None:
            memo.put(token_hash, token, generation)
        return token

    # -- scope ancestors -------------------------------------------------------------

    def ancestors_version(self, tenant_id: str) -> int | None:
        """The model version whose scope tree is published (None: none is)."""
        raw = self.redis.get(f"{self.prefix}ancv:{tenant_id}")
        return int(raw) if raw is not None else None

    def published_chain(self, tenant_id: str, scope_id: str) -> tuple[str, ...] | None:
        """The ancestor chain published for `scope_id` (None: none is)."""
        raw = self.redis.get(f"{self.prefix}anc:{tenant_id}:{scope_id}")
        if raw is None:
            return None
        text = raw.decode()
        return tuple(text.split(",")) if text else ()

    def publish_ancestors(
        self, tenant_id: str, version: int, ancestors: dict[str, tuple[str, ...]]
    ) -> bool:
        """Replace the tenant's published ancestor chains with those of model `version`,
        unless a newer version's are published; True when written."""
        args: list[Any] = [f"{self.prefix}anc:{tenant_id}:", version]
        for scope_id, chain in ancestors.items():
            args.extend((scope_id, ",".join(chain)))
        keys = [f"{self.prefix}ancv:{tenant_id}", f"{self.prefix}ancs:{tenant_id}"]
        return bool(self._publish_ancestors(keys=keys, args=args))

    # -- the read path ---------------------------------------------------------------

    def read(self, token_hash: str, refs: Sequence[str], scopes: Sequence[str] = ()) -> ReadResult:
        """One round trip: the token's record, each ref's set, each scope's ancestors."""
        args: list[str] = [self.prefix, token_hash]
        for ref in refs:
            args.extend((ref, ref.lower()))
        args.append("--")
        args.extend(scopes)
        reply = self._read(args=args)
        if not reply or reply[0] is None:
            return ReadResult(None, [None] * len(refs), dict.fromkeys(scopes))
        bodies = list(reply[1 : 1 + len(refs)])
        raw_ancestors = reply[1 + len(refs) :]
        ancestors: dict[str, tuple[str, ...] | None] = {}
        for scope_id, raw in zip(scopes, raw_ancestors, strict=True):
            if raw is None:
                ancestors[scope_id] = None
            else:
                text = raw.decode()
                ancestors[scope_id] = tuple(text.split(",")) if text else ()
        return ReadResult(CachedToken.decode(reply[0]), bodies, ancestors)
