"""``Client``: permission checks answered from memory, kept current by rolecall's feed."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rolecall_client.errors import RolecallError, RolecallUnavailable
from rolecall_client.feed import Follower
from rolecall_client.fetch import fetch_user
from rolecall_client.store import HeldChain, HeldUser, Refetch, Store
from rolecall_client.transport import Check, HttpTransport, Transport

log = logging.getLogger("rolecall_client")

# How often a chain may be fetched while the scope tree keeps changing before a check
# gives up on it (each retry asks for at least the newest model, so one suffices).
FETCH_ATTEMPTS = 3
NEVER = float("-inf")


@dataclass(frozen=True)
class Status:
    """What the client holds and how fresh it is (for health checks and tests)."""

    fresh: bool
    seconds_since_caught_up: float | None
    cursor: str | None
    users: int
    scopes: int


class Client:
    """Answers ``check`` from sets held in memory, fetched on first use and kept current
    by a background thread that follows rolecall's change feed.

    Failure behaviour: while the feed has been caught up within ``max_staleness``
    seconds, checks answer from memory; past that, each check asks rolecall over HTTP
    (``POST /api/v1/check``), and when that fails too it answers ``False``. No answer is
    ever "allowed" from data older than ``max_staleness``.

    Memory: at most ``max_users`` users and ``max_scopes`` scope chains (the least
    recently asked about go first); either is dropped after ``idle_seconds`` unasked.
    """

    def __init__(
        self,
        base_url: str,
        read_token: str,
        *,
        max_staleness: float = 5.0,
        max_users: int = 10_000,
        max_scopes: int = 50_000,
        idle_seconds: float = 600.0,
        timeout: float = 5.0,
        feed_wait: int | None = None,
        feed_limit: int = 1000,
        start: bool = True,
        transport_factory: Callable[[], Transport] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_staleness <= 0:
            raise ValueError("max_staleness must be positive")
        if max_users < 1 or max_scopes < 1:
            raise ValueError("max_users and max_scopes must be at least 1")
        if idle_seconds <= 0:
            raise ValueError("idle_seconds must be positive")
        # The feed must answer well within max_staleness, or a quiet feed would read as
        # a stale one: a long poll of a third of it (whole seconds, at most 25).
        wait = min(25, int(max_staleness / 3)) if feed_wait is None else feed_wait
        if not 0 <= wait <= 25 or wait >= max_staleness:
            raise ValueError("feed_wait must be 0..25 seconds and below max_staleness")
        if transport_factory is None:

            def transport_factory() -> Transport:
                return HttpTransport(base_url, read_token, timeout)

        self._max_staleness = max_staleness
        self._clock = clock
        self._caught_up_at = NEVER
        self._http = transport_factory()
        self._store = Store(max_users=max_users, max_scopes=max_scopes, idle_seconds=idle_seconds)
        self._feed_transport = transport_factory()
        self._follower = Follower(
            self._feed_transport,
            self._store,
            wait=wait,
            limit=feed_limit,
            snapshot_limit=feed_limit,
            on_caught_up=self._caught_up,
            clock=clock,
            idle_pause=max_staleness / 4,
        )
        self._thread: threading.Thread | None = None
        self._remote_failing = False
        if start:
            self.start()

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Start following the feed (done by the constructor unless ``start=False``)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._follower.run, name="rolecall-feed", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop the feed thread (waiting up to ``timeout``: by default, one long poll)."""
        self._follower.stop()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self._max_staleness)
        self._http.close()
        self._feed_transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def poll_feed(self) -> None:
        """One step of following the feed, in the caller's thread: for an app that drives
        the feed itself (``start=False``), and for tests. Raises what the request raised."""
        self._follower.step()

    def wait_until_fresh(self, timeout: float) -> bool:
        """Block until the feed has caught up (or ``timeout`` passes); True when fresh."""
        deadline = time.monotonic() + timeout
        while not self._fresh(self._clock()):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def status(self) -> Status:
        now = self._clock()
        caught_up = self._caught_up_at
        return Status(
            fresh=self._fresh(now),
            seconds_since_caught_up=None if caught_up == NEVER else now - caught_up,
            cursor=self._follower.cursor,
            users=len(self._store.users),
            scopes=len(self._store.chains),
        )

    # -- questions --------------------------------------------------------------------

    def check(
        self,
        user: str,
        area: str,
        level: str,
        scope: str,
        product: str | None = None,
        *,
        min_version: int | None = None,
    ) -> bool:
        """Whether ``user`` (SCIM id, userName or externalId) holds ``level`` or higher of
        ``area`` at ``scope``: the same answer as rolecall's ``POST /api/v1/check``.

        ``area`` is a ref (``product/key``), a key with ``product``, or a key the user
        holds in one product only. With ``min_version``, only a set at least that new
        answers (read-your-writes after a change that reported its version).
        """
        now = self._clock()
        if now - self._caught_up_at > self._max_staleness:
            return self._ask_rolecall([Check(user, area, level, scope, product)], min_version)[0]
        store = self._store
        # Store.user, inlined: this is the hot path.
        user_id = store.aliases.get(user)
        held = store.users.get(user_id) if user_id is not None else None
        if held is None or (min_version is not None and held.set.version < min_version):
            held = self._fetch_user(user, min_version, now)
            if held is None:
                return False
        held.last_used = now
        if not held.exists:
            return False
        chain = store.chains.get(scope)
        if chain is None:
            chain = self._fetch_chain(scope, now)
            if chain is None:
                return False
        chain.last_used = now
        return held.set.allows(scope, area, level, product, chain.ancestors)

    def check_many(
        self, checks: Iterable[Check | Sequence[str | None]], *, min_version: int | None = None
    ) -> list[bool]:
        """``check`` for each of ``checks`` (``Check``s or ``(user, area, level, scope[,
        product])`` tuples), in order; past ``max_staleness``, in one HTTP request."""
        asked = [c if isinstance(c, Check) else Check(*c) for c in checks]  # type: ignore[arg-type]
        if not self._fresh(self._clock()):
            return self._ask_rolecall(asked, min_version)
        return [self.check(*c, min_version=min_version) for c in asked]

    def permissions(self, user: str, *, min_version: int | None = None) -> dict[str, Any] | None:
        """The user's permission set as rolecall serves it (``GET /users/{ref}/permissions``
        to a read token), or None when no such user exists.

        Raises ``RolecallUnavailable`` when the client holds nothing fresh enough and
        rolecall cannot be reached: it never returns data older than ``max_staleness``.
        """
        now = self._clock()
        if not self._fresh(now):
            try:
                return self._http.user_set(user, min_version)
            except RolecallUnavailable as error:
                raise RolecallUnavailable(
                    f"rolecall is unreachable and the client's data is older than "
                    f"max_staleness ({self._max_staleness}s): {error}"
                ) from error
        held = self._store.user(user)
        if held is None or (min_version is not None and held.set.version < min_version):
            held = self._fetch_user(user, min_version, now, quiet=False)
            if held is None:
                return None
        held.last_used = now
        return copy.deepcopy(dict(held.set.body)) if held.exists else None

    def cached(self, user: str) -> dict[str, Any] | None:
        """The set held in memory for ``user``, without fetching or counting as a use
        (None when none is held): what ``check`` would answer from."""
        held = self._store.user(user)
        if held is None or not held.exists:
            return None
        return copy.deepcopy(dict(held.set.body))

    # -- the slow paths -----------------------------------------------------------------

    def _fresh(self, now: float) -> bool:
        return now - self._caught_up_at <= self._max_staleness

    def _caught_up(self, when: float) -> None:
        self._caught_up_at = when

    def _fetch_user(
        self, ref: str, min_version: int | None, now: float, quiet: bool = True
    ) -> HeldUser | None:
        """Fetch ``ref``'s set over HTTP and hold it; None when there is no such user (or,
        with ``quiet``, when rolecall cannot say: a check then denies)."""
        try:
            return fetch_user(self._http, self._store, ref, min_version, now)
        except RolecallError as error:
            if not quiet:
                raise
            log.warning("rolecall: could not fetch a user's set: %s", error)
            return None

    def _fetch_chain(self, scope: str, now: float) -> HeldChain | None:
        """Fetch a scope's ancestors over HTTP and hold them; None when the scope does not
        exist or rolecall cannot say (a check then denies)."""
        for _ in range(FETCH_ATTEMPTS):
            generation = self._store.tree_generation
            wanted = self._store.scopes_version or None
            try:
                chain = self._http.ancestors(scope, wanted)
            except RolecallError as error:
                log.warning("rolecall: could not fetch a scope's ancestors: %s", error)
                return None
            if chain is None:
                return None
            held = self._store.hold_chain(scope, chain, generation, now)
            if not isinstance(held, Refetch):
                return held
        log.warning("rolecall: the scope tree kept changing while a chain was fetched; denying")
        return None

    def _ask_rolecall(self, checks: Sequence[Check], min_version: int | None) -> list[bool]:
        """Past max_staleness: rolecall answers, or every check is denied."""
        try:
            answers = self._http.check(checks, min_version)
        except RolecallError as error:
            if not self._remote_failing:
                log.warning(
                    "rolecall: feed stale and POST /check failed (%s): denying checks", error
                )
                self._remote_failing = True
            return [False] * len(checks)
        self._remote_failing = False
        return answers
