"""The feed thread: follows rolecall's change feed and keeps the store current.

It long-polls ``GET /changes?after=CURSOR&wait=N``, so a change wakes it at once, and
applies each page to the store. It starts from the feed's head (a snapshot's
``feed_cursor``): the client holds no user until an app asks, so the past is of no
use. When the feed answers 410 (the cursor fell out of its window), it rebuilds from
``GET /snapshot``: the held users get the snapshot's sets (by the version rule), held
users missing from it are gone, and it continues from the snapshot's cursor.

Freshness: after each answer that says nothing more is waiting (``more`` false), the
time the request was sent is reported to ``on_caught_up``. That is a lower bound of
when the client had every change, which the client compares with ``max_staleness``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rolecall_client.errors import CursorExpired, RolecallError, RolecallUnavailable
from rolecall_client.fetch import fetch_user
from rolecall_client.store import Store
from rolecall_client.transport import Transport

log = logging.getLogger("rolecall_client")

FIRST_RETRY_SECONDS = 0.05
LAST_RETRY_SECONDS = 2.0


class Follower:
    def __init__(
        self,
        transport: Transport,
        store: Store,
        *,
        wait: int,
        limit: int,
        snapshot_limit: int,
        on_caught_up: Callable[[float], None],
        clock: Callable[[], float],
        idle_pause: float,
    ) -> None:
        self.cursor: str | None = None
        self._transport = transport
        self._store = store
        self._wait = wait
        self._limit = limit
        self._snapshot_limit = snapshot_limit
        self._on_caught_up = on_caught_up
        self._clock = clock
        self._idle_pause = idle_pause
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Follow the feed until stopped; errors are logged and retried with backoff."""
        retry = FIRST_RETRY_SECONDS
        while not self._stop.is_set():
            try:
                self.step()
                retry = FIRST_RETRY_SECONDS
            except RolecallError as error:
                log.warning("rolecall feed: %s; retrying in %.2fs", error, retry)
                self._stop.wait(retry)
                retry = min(retry * 2, LAST_RETRY_SECONDS)
            except Exception:
                # A bug here must not end the thread silently: the client stays safe
                # (past max_staleness it asks over HTTP) and the log says why.
                log.exception("rolecall feed: unexpected error; retrying in %.2fs", retry)
                self._stop.wait(retry)
                retry = min(retry * 2, LAST_RETRY_SECONDS)

    def step(self) -> None:
        """One request to the feed (or the start from the head, or a rebuild) and its
        effect on the store."""
        if self.cursor is None:
            self.cursor = self._start()
            return
        sent = self._clock()
        try:
            page = self._transport.changes(self.cursor, self._wait, self._limit)
        except CursorExpired:
            log.warning("rolecall feed: cursor %s expired; rebuilding from a snapshot", self.cursor)
            self.cursor = self._rebuild()
            return
        if page.changes:
            self._store.apply(page.changes, self._clock())
        self.cursor = page.cursor
        if not page.more:
            self._on_caught_up(sent)
            now = self._clock()
            self._store.sweep(now)
            for user_id in self._store.due_for_checkup(now):
                fetch_user(self._transport, self._store, user_id, None, now, touch=False)
                self._store.checked_up(user_id)
            if not page.changes and self._wait == 0:
                self._stop.wait(self._idle_pause)

    def _start(self) -> str:
        first = self._transport.snapshot(None, 1)
        self._store.restart(self._clock())
        return first.feed_cursor

    def _rebuild(self) -> str:
        held = self._store.held_ids()
        if not held:
            return self._start()
        page = self._transport.snapshot(None, self._snapshot_limit)
        # After the first page fixed the snapshot's cursor: what a fetch begun before
        # this fetched may predate the snapshot, so it is not held (Store.epoch).
        self._store.restart(self._clock())
        cursor = page.feed_cursor
        seen: set[str] = set()
        pages: set[str] = set()
        while True:
            rows = [row for row in page.sets if row.get("user_id") in held]
            seen.update(str(row["user_id"]) for row in rows)
            self._store.apply(rows, self._clock())
            if page.next is None:
                break
            if page.next in pages:  # a server that ignores the page token would loop here
                raise RolecallUnavailable("the snapshot's pages do not advance")
            pages.add(page.next)
            page = self._transport.snapshot(page.next, self._snapshot_limit)
        # A snapshot lists every user not deleted: a held user missing from it is gone.
        self._store.drop_users(held - seen)
        return cursor
