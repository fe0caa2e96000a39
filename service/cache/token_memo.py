"""Tokens this process authenticated lately, so that most requests need no Redis round
trip to know their caller (about a tenth of a SCIM write or lookup).

Revoking or rotating a token still takes effect at once everywhere:
`PermissionCache.forget_token` publishes the token's hash on a Redis channel, and each
process's listener drops it from its memo. The memo is used only while that listener
is subscribed: when the subscription breaks, the memo empties and stays unused until
the listener is back, so a message missed meanwhile cannot leave a revoked token
here. Entries also expire after TTL_SECONDS, a bound on a silently dead connection.

Why by hand: redis-py's client-side caching (`cache_config`, RESP3 tracking) would do
this, but it refuses servers older than Redis 7.4 ("client-side caching is supported
by Redis 7.4 or later"), and Debian's Redis here is 7.0; pub/sub works on every
version, through Sentinel too.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import redis

from service.cache.cached_token import CachedToken

log = logging.getLogger("rolecall.cache.tokens")


class TokenMemo:
    TTL_SECONDS = 10.0
    MAX_ENTRIES = 10_000
    PING_SECONDS = 5.0

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._client = client
        self.channel = channel
        self._entries: dict[str, tuple[CachedToken, float]] = {}
        # Bumped by every forget: a lookup that began before one must not store.
        self._generation = 0
        self._subscribed = threading.Event()
        self._owner_pid: int | None = None
        self._start_lock = threading.Lock()
        self._stopped = False

    # -- lookups ---------------------------------------------------------------

    def get(self, token_hash: str) -> CachedToken | None:
        self._ensure_listening()
        if not self._subscribed.is_set():
            return None
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        token, until = entry
        if until < time.monotonic():
            self._entries.pop(token_hash, None)
            return None
        return token

    def generation(self) -> int:
        """Take this before reading a token elsewhere; pass it to `put`."""
        return self._generation

    def put(self, token_hash: str, token: CachedToken, generation: int) -> None:
        """Remember a token read after `generation` was taken, unless a forget came since."""
        if not self._subscribed.is_set() or generation != self._generation:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[token_hash] = (token, time.monotonic() + self.TTL_SECONDS)
        if generation != self._generation:  # a forget landed while storing
            self._entries.pop(token_hash, None)

    def drop(self, token_hash: str) -> None:
        self._generation += 1
        self._entries.pop(token_hash, None)

    @property
    def listening(self) -> bool:
        return self._subscribed.is_set()

    def stop(self) -> None:
        """Stop listening for good (the runtime is closing); the memo is no longer used."""
        self._stopped = True
        self._owner_pid = None
        self._forget_all()

    # -- the listener ------------------------------------------------------------

    def _ensure_listening(self) -> None:
        # Started lazily and again after a fork: a thread does not survive into a child.
        pid = os.getpid()
        if self._owner_pid == pid or self._stopped:
            return
        with self._start_lock:
            if self._owner_pid == pid or self._stopped:
                return
            self._owner_pid = pid
            self._forget_all()
            threading.Thread(
                target=self._listen, args=(pid,), name="rolecall-token-memo", daemon=True
            ).start()

    def _forget_all(self) -> None:
        self._subscribed.clear()
        self._generation += 1
        self._entries.clear()

    def _listen(self, pid: int) -> None:
        while self._owner_pid == pid:
            pubsub = self._client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                last_ping = time.monotonic()
                while self._owner_pid == pid:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        if message["type"] == "subscribe":
                            self._subscribed.set()
                        elif message["type"] == "message":
                            self.drop(_text(message["data"]))
                    if time.monotonic() - last_ping > self.PING_SECONDS:
                        pubsub.ping()  # a dead connection fails here, not silently
                        last_ping = time.monotonic()
            except Exception as error:
                if not self._stopped:
                    log.warning("token memo unsubscribed: %s", type(error).__name__)
            finally:
                self._forget_all()
                try:
                    pubsub.close()
                except Exception:
                    log.debug("closing the token memo subscription failed")
            time.sleep(1.0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
