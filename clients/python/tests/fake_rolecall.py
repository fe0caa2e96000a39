"""An in-memory rolecall that speaks the feed contract, for tests that must place every
step of a race exactly (the real-server tests cannot stop a request halfway).

It keeps what the server keeps: users with their sets by version, a feed of events in
order with a retention window, a cache that may lag behind the feed (rolecall records an
event no later than it writes the set to its cache, so for a moment the cache is older),
and a scope tree with a model version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rolecall_client.errors import CursorExpired, RolecallUnavailable
from rolecall_client.permission_set import PermissionSet
from rolecall_client.transport import Chain, ChangesPage, Check, SnapshotPage

AREA = "docs/edit"
LEVELS = ["view", "edit", "admin"]


@dataclass
class FakeUser:
    user_id: str
    user_name: str
    external_id: str | None
    exists: bool = True
    grants: dict[str, int] = field(default_factory=dict)  # scope -> rank, reaching below


class FakeRolecall:
    def __init__(self) -> None:
        self.users: dict[str, FakeUser] = {}
        self.history: dict[tuple[str, int], dict[str, Any]] = {}
        self.latest: dict[str, int] = {}
        self.cached: dict[str, int] = {}  # what the cache serves: a version in history
        self.feed: list[dict[str, Any]] = []  # every event; cursor = index + 1
        self.retained_from = 1  # the oldest cursor still answered
        self.parents: dict[str, str | None] = {}
        self.model_version = 1
        self.clock = 1_000_000
        self.down = False
        self.lagging = False  # new sets reach the cache only on flush()
        self.pending: list[tuple[str, int]] = []
        self.during_fetch: list[Callable[[], None]] = []
        self.calls: dict[str, int] = {}

    # -- what an IdP or admin does ----------------------------------------------------

    def add_user(self, user_id: str, user_name: str, external_id: str | None = None) -> None:
        self.users[user_id] = FakeUser(user_id, user_name, external_id)
        self._record(self.users[user_id], "changed")

    def grant(self, user_id: str, scope: str, rank: int | None) -> None:
        """Give (or, with None, take) the user's grant at ``scope``; records an event only
        when the set changed, as rolecall does."""
        user = self.users[user_id]
        before = dict(user.grants)
        if rank is None:
            user.grants.pop(scope, None)
        else:
            user.grants[scope] = rank
        if user.grants != before:
            self._record(user, "changed")

    def delete(self, user_id: str) -> None:
        user = self.users[user_id]
        user.exists = False
        user.grants.clear()
        self._record(user, "deleted")

    def add_scope(self, scope: str, parent: str | None) -> None:
        self.parents[scope] = parent

    def move_scope(self, scope: str, parent: str | None) -> None:
        self.parents[scope] = parent
        self.clock += 1
        self.model_version = self.clock
        self.feed.append(
            {"cursor": str(len(self.feed) + 1), "kind": "scopes", "version": self.clock}
        )

    def flush(self) -> None:
        """The cache writes that lag behind their events land."""
        for user_id, version in self.pending:
            if version > self.cached.get(user_id, -1):
                self.cached[user_id] = version
        self.pending.clear()

    def expire(self) -> None:
        """Every event so far falls out of the retention window. Events fall out after
        days, long after their cache writes landed: those land first."""
        self.flush()
        self.retained_from = len(self.feed) + 1

    def body(self, user_id: str) -> dict[str, Any]:
        return self.history[(user_id, self.latest[user_id])]

    def _record(self, user: FakeUser, kind: str) -> None:
        self.clock += 1
        version = self.clock
        body = {
            "version": version,
            "computed_at": f"t{version}",
            "user_id": user.user_id,
            "areas": {AREA: LEVELS} if user.grants else {},
            "scopes": {
                scope: {AREA: {"level": LEVELS[rank], "inherits": True}}
                for scope, rank in sorted(user.grants.items())
            },
        }
        self.history[(user.user_id, version)] = body
        self.latest[user.user_id] = version
        self.feed.append(
            {
                "cursor": str(len(self.feed) + 1),
                "kind": kind,
                "user_id": user.user_id,
                "user_name": user.user_name,
                "external_id": user.external_id,
                "version": version,
                "permissions": body,
            }
        )
        if self.lagging:
            self.pending.append((user.user_id, version))
        else:
            self.cached[user.user_id] = version

    # -- the Transport the client calls ---------------------------------------------------

    def _call(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.down:
            raise RolecallUnavailable(f"{name}: ConnectionError")

    def changes(self, after: str, wait: int, limit: int) -> ChangesPage:
        self._call("changes")
        start = int(after)
        if start + 1 < self.retained_from or start > len(self.feed):
            raise CursorExpired("cursor_expired")
        page = self.feed[start : start + limit]
        cursor = page[-1]["cursor"] if page else after
        return ChangesPage(page, cursor, start + len(page) < len(self.feed))

    def snapshot(self, page: str | None, limit: int) -> SnapshotPage:
        self._call("snapshot")
        ids = sorted(u for u, user in self.users.items() if user.exists)
        first = int(page or 0)
        rows = [
            {
                "user_id": u,
                "user_name": self.users[u].user_name,
                "external_id": self.users[u].external_id,
                "version": self.latest[u],
                "kind": "changed",
                "permissions": self.body(u),
            }
            for u in ids[first : first + limit]
        ]
        following = first + limit
        return SnapshotPage(
            rows, str(len(self.feed)), str(following) if following < len(ids) else None
        )

    def resolve(self, ref: str) -> FakeUser | None:
        """id, then userName in any case, then externalId, as rolecall resolves refs."""
        live = [u for u in self.users.values() if u.exists]
        for match in (
            lambda u: u.user_id == ref,
            lambda u: u.user_name.lower() == ref.lower(),
            lambda u: u.external_id == ref,
        ):
            found = [u for u in live if match(u)]
            if found:
                return found[0]
        return None

    def user_set(self, ref: str, min_version: int | None) -> dict[str, Any] | None:
        self._call("user_set")
        user = self.resolve(ref)
        if user is None:
            return None
        version = self.cached.get(user.user_id, self.latest[user.user_id])
        if min_version is not None and version < min_version:
            version = self.cached[user.user_id] = self.latest[user.user_id]
        answer = self.history[(user.user_id, version)]
        # Whatever happens between the server's read and the client holding the answer.
        steps, self.during_fetch = self.during_fetch, []
        for step in steps:
            step()
        return answer

    def ancestors(self, scope: str, min_version: int | None) -> Chain | None:
        self._call("ancestors")
        return self._chain(scope)

    def _chain(self, scope: str) -> Chain | None:
        if scope not in self.parents:
            return None
        chain: list[str] = []
        parent = self.parents[scope]
        while parent is not None:
            chain.append(parent)
            parent = self.parents[parent]
        return Chain(tuple(chain), self.model_version)

    def check(self, checks: Sequence[Check], min_version: int | None) -> list[bool]:
        self._call("check")
        answers = []
        for c in checks:
            user = self.resolve(c.user)
            chain = self._chain(c.scope)
            if user is None or chain is None:
                answers.append(False)
                continue
            body = self.body(user.user_id)
            answers.append(
                PermissionSet(body).allows(c.scope, c.area, c.level, c.product, chain.ancestors)
            )
        return answers

    def close(self) -> None:
        pass
