"""What the client holds in memory: users' sets, the refs apps name them by, and scope
ancestor chains; and the rules that keep them current and bounded.

Reads (``user``, ``chain``) take no lock: a check on a held user is two dict lookups.
Every change (the feed applying events, an app thread holding what it fetched, the
sweep dropping what nobody asked about) takes ``lock``, so the feed and a fetch can
never interleave halfway.

The race the lock alone does not settle: an app thread fetches a set over HTTP while
the feed moves on. An event for that user that the feed applies before the fetched set
is held finds no one to apply to; the fetched set may be older than it (rolecall records
an event no later than it writes the set to its cache, so a read can return the older
set just after the event is out). So the store remembers, for a while, the newest
version the feed announced for each user it does not hold, and the version of each user
it dropped to save memory (``_recent``); holding a fetched set older than that asks for
a refetch at that version instead. Events applied after the set is held find it and
follow the version rule.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rolecall_client.errors import InvalidSet
from rolecall_client.permission_set import PermissionSet
from rolecall_client.transport import Chain

log = logging.getLogger("rolecall_client")

DELETED = "deleted"
SCOPES = "scopes"
SWEEP_INTERVAL = 1.0


class HeldUser:
    """A user's newest set known to the client; ``exists`` is false once deleted."""

    __slots__ = ("aliases", "exists", "last_used", "set", "user_id")

    def __init__(self, user_id: str, permission_set: PermissionSet, now: float) -> None:
        self.user_id = user_id
        self.set = permission_set
        self.exists = True
        self.last_used = now
        self.aliases: set[str] = {user_id}


class HeldChain:
    """A scope's ancestor ids, nearest first, from the scope model at ``version``."""

    __slots__ = ("ancestors", "last_used", "version")

    def __init__(self, chain: Chain, now: float) -> None:
        self.ancestors = chain.ancestors
        self.version = chain.version
        self.last_used = now


class Refetch(int):
    """Hold nothing yet: fetch again with ``min_version`` this value."""


class Store:
    """Users, aliases and chains, bounded by count (least recently used go first) and by
    idleness (what nobody asked about for ``idle_seconds`` is dropped by ``sweep``)."""

    def __init__(
        self,
        *,
        max_users: int,
        max_scopes: int,
        idle_seconds: float,
        recent_seconds: float = 30.0,
        recent_max: int = 100_000,
        checkup_after: float = 2.0,
    ) -> None:
        self.lock = threading.Lock()
        self.users: dict[str, HeldUser] = {}
        # A ref exactly as an app named a user (id, userName in any case, externalId), to
        # the id rolecall resolved it to; _by_lower finds them by lower-cased ref.
        self.aliases: dict[str, str] = {}
        self._by_lower: dict[str, set[str]] = {}
        self.chains: dict[str, HeldChain] = {}
        # Bumped when the feed starts from a new cursor: a fetch begun before that may
        # predate changes the feed will never show, so what it fetched is not held.
        self.epoch = 0
        # Bumped whenever chains are dropped; with scopes_version, the newest scope model
        # a "scopes" event announced, it keeps a chain fetched before that out.
        self.tree_generation = 0
        self.scopes_version = 0
        self._recent: OrderedDict[str, tuple[int, float]] = OrderedDict()
        # A user fetched just after the feed (re)started may have changed just before
        # the cursor it started from, with rolecall's cache not yet written: no event
        # after the cursor will tell. So such users are fetched once more, by the feed
        # thread, ``checkup_after`` seconds after the restart, when the write has landed.
        self._restarted_at = float("-inf")
        self._swept_at = float("-inf")
        self._unchecked: set[str] = set()
        self._checkup_after = checkup_after
        self._max_users = max_users
        self._max_scopes = max_scopes
        self._idle_seconds = idle_seconds
        self._recent_seconds = recent_seconds
        self._recent_max = recent_max

    # -- reads (no lock) ------------------------------------------------------------

    def user(self, ref: str) -> HeldUser | None:
        user_id = self.aliases.get(ref)
        return None if user_id is None else self.users.get(user_id)

    # -- the feed's side -----------------------------------------------------------

    def restart(self, now: float) -> None:
        """The feed starts over from a new cursor (first start, or a snapshot after 410)."""
        with self.lock:
            self.epoch += 1
            self._restarted_at = now
            self._unchecked.clear()
            self._drop_chains()

    def due_for_checkup(self, now: float) -> list[str]:
        """The users held since the last restart whose sets should be fetched once more,
        now that the grace after the restart is over (see ``_unchecked``)."""
        if not self._unchecked or now - self._restarted_at < self._checkup_after:
            return []
        with self.lock:
            self._unchecked &= self.users.keys()
            return list(self._unchecked)

    def checked_up(self, user_id: str) -> None:
        with self.lock:
            self._unchecked.discard(user_id)

    def apply(self, changes: Iterable[Mapping[str, Any]], now: float) -> None:
        """Apply feed events (or snapshot rows) in order, by the version rule."""
        with self.lock:
            for change in changes:
                self._apply_one(change, now)

    def held_ids(self) -> set[str]:
        with self.lock:
            return set(self.users)

    def drop_users(self, user_ids: Iterable[str]) -> None:
        with self.lock:
            for user_id in user_ids:
                self._drop_user(user_id)

    def sweep(self, now: float) -> None:
        """Drop users and chains nobody asked about for ``idle_seconds``, and announced
        versions older than the recent window."""
        # At most once a second: a busy feed answers many times a second, and this walks
        # every held user.
        if now - self._swept_at < SWEEP_INTERVAL:
            return
        self._swept_at = now
        idle_before = now - self._idle_seconds
        with self.lock:
            for user_id in [u for u, h in self.users.items() if h.last_used < idle_before]:
                self._forget_user(user_id, now)
            for scope in [s for s, c in self.chains.items() if c.last_used < idle_before]:
                del self.chains[scope]
            self._prune_recent(now)

    def _apply_one(self, change: Mapping[str, Any], now: float) -> None:
        kind = change.get("kind")
        version = int(change["version"])
        if kind == SCOPES:
            self.scopes_version = max(self.scopes_version, version)
            self._drop_chains()
            return
        user_id = str(change["user_id"])
        user_name = change.get("user_name")
        external_id = change.get("external_id")
        self._release_claimed_aliases(user_id, user_name, external_id)
        held = self.users.get(user_id)
        if held is None:
            self._announce(user_id, version, now)
            return
        if version <= held.set.version:
            return
        try:
            held.set = PermissionSet(change["permissions"], version)
        except (InvalidSet, KeyError) as error:
            # Holding the older set would answer from stale data: drop the user, so the
            # next check fetches it over HTTP.
            log.error("dropping user %s: its change is unreadable (%s)", user_id, error)
            self._drop_user(user_id)
            return
        held.exists = kind != DELETED
        self._keep_aliases(held, user_name, external_id)

    def _keep_aliases(self, held: HeldUser, user_name: Any, external_id: Any) -> None:
        """Keep the refs that still name this user (its id, userName in any case,
        externalId); a deleted user keeps only its id, as its names may be reused."""
        name = user_name.lower() if isinstance(user_name, str) and held.exists else None
        ext = external_id if held.exists else None
        for alias in list(held.aliases):
            if alias != held.user_id and alias.lower() != name and alias != ext:
                self._drop_alias(alias)

    def _release_claimed_aliases(self, user_id: str, user_name: Any, external_id: Any) -> None:
        """A ref another user now answers to (a userName or externalId taken over) may no
        longer resolve to the user it did: forget it, so the server resolves it again."""
        for value in (user_name, external_id):
            if not isinstance(value, str):
                continue
            for alias in list(self._by_lower.get(value.lower(), ())):
                if self.aliases.get(alias) != user_id:
                    self._drop_alias(alias)

    def _prune_recent(self, now: float) -> None:
        recent = self._recent
        cutoff = now - self._recent_seconds
        while recent:
            _, (_, seen_at) = next(iter(recent.items()))
            if seen_at >= cutoff:
                break
            recent.popitem(last=False)

    # -- an app thread's side ------------------------------------------------------

    def hold_user(
        self,
        ref: str,
        permission_set: PermissionSet,
        user_id: str,
        epoch: int,
        now: float,
        touch: bool = True,
    ) -> HeldUser | Refetch:
        """Hold a set fetched for ``ref`` (by a fetch begun at ``epoch``) and answer the
        held user, or the version to fetch again at (the feed announced a newer one).
        ``touch``: count it as a use (not for the feed thread's check-ups).

        A fetch that spans a restart of the feed is answered but not held."""
        with self.lock:
            seen = self._recent.get(user_id)
            if seen is not None and seen[0] > permission_set.version:
                return Refetch(seen[0])
            if epoch != self.epoch:
                return HeldUser(user_id, permission_set, now)
            held = self.users.get(user_id)
            if held is None:
                held = self.users[user_id] = HeldUser(user_id, permission_set, now)
                self._evict_users(now)
            elif permission_set.version > held.set.version:
                held.set = permission_set
                held.exists = True
            if touch:
                held.last_used = now
            if now - self._restarted_at < self._checkup_after:
                self._unchecked.add(user_id)
            self._add_alias(ref, held)
            return held

    def hold_chain(
        self, scope: str, chain: Chain, generation: int, now: float
    ) -> HeldChain | Refetch:
        """Hold a chain fetched (by a fetch begun at tree ``generation``) and answer it,
        or the scope model version to fetch again at (the tree changed meanwhile)."""
        with self.lock:
            if generation != self.tree_generation or chain.version < self.scopes_version:
                return Refetch(self.scopes_version)
            held = self.chains[scope] = HeldChain(chain, now)
            if len(self.chains) > self._max_scopes:
                self._evict(self.chains, self._max_scopes, lambda key: self.chains.pop(key))
            return held

    # -- bounds and bookkeeping (lock held) ----------------------------------------

    def _evict_users(self, now: float) -> None:
        if len(self.users) > self._max_users:
            self._evict(
                self.users, self._max_users, lambda user_id: self._forget_user(user_id, now)
            )

    @staticmethod
    def _evict(
        held: Mapping[str, HeldUser | HeldChain], limit: int, drop: Callable[[str], object]
    ) -> None:
        # Down to 90% of the limit at once, so the sort runs once per tenth of the limit
        # of new entries, not on every one.
        keep = limit - max(1, limit // 10)
        by_age = sorted(held.items(), key=lambda item: item[1].last_used)
        for key, _ in by_age[: len(held) - keep]:
            drop(key)

    def _forget_user(self, user_id: str, now: float) -> None:
        """Drop a user to save memory, remembering its version as announced: fetched
        again soon, rolecall's cache may still serve an older set than the feed gave."""
        held = self.users.get(user_id)
        if held is not None:
            self._announce(user_id, held.set.version, now)
            self._drop_user(user_id)

    def _announce(self, user_id: str, version: int, now: float) -> None:
        seen = self._recent.get(user_id)
        if seen is None or seen[0] < version:
            self._recent[user_id] = (version, now)
            self._recent.move_to_end(user_id)
            if len(self._recent) > self._recent_max:
                self._recent.popitem(last=False)

    def _drop_user(self, user_id: str) -> None:
        held = self.users.pop(user_id, None)
        if held is not None:
            for alias in list(held.aliases):
                self._drop_alias(alias)

    def _drop_chains(self) -> None:
        self.chains.clear()
        self.tree_generation += 1

    def _add_alias(self, ref: str, held: HeldUser) -> None:
        previous = self.aliases.get(ref)
        if previous is not None and previous != held.user_id:
            self._drop_alias(ref)
        for alias in (ref, held.user_id):
            self.aliases[alias] = held.user_id
            held.aliases.add(alias)
            self._by_lower.setdefault(alias.lower(), set()).add(alias)

    def _drop_alias(self, alias: str) -> None:
        user_id = self.aliases.pop(alias, None)
        if user_id is None:
            return
        held = self.users.get(user_id)
        if held is not None:
            held.aliases.discard(alias)
        same = self._by_lower.get(alias.lower())
        if same is not None:
            same.discard(alias)
            if not same:
                del self._by_lower[alias.lower()]
