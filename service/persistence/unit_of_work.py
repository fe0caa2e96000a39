"""One unit of work: a change's session, its commit, its outbox rows, and what must
follow the commit.

Use cases take a `UnitOfWork` and enter it (`with uow:`); views and tasks get one from
the runtime and hand it over, and never hold a session themselves. Entering is
re-entrant: a use case called from another joins the outer unit, which alone commits.
Inside, use cases read and write through the unit's repositories (`uow.audit`, ...),
so they run on a fake unit of work with no database as well (tests/fakes).

Everything that must happen after a commit is durable, because it is an outbox row
written in the same transaction as the change:

- `emit` records work for a worker (a recompute, an invitation); the relay sends it.
- `effect` records an effect on shared state outside the database (a deprovisioned
  user's cached set cleared, a revoked token broadcast, scope ancestors refreshed).
  Once the commit succeeded, the unit hands its effects to `after_commit`, which
  applies them at once (the fast path); whatever could not be applied there is still
  in the outbox, and the relay applies it within a second. Effects are idempotent.

A failure after the commit never turns into a rollback or a lost change: the
`after_commit` hook decides what the caller is told (DESIGN.md, "Rules that keep it
correct").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from sqlalchemy.orm import Session, sessionmaker

from service.persistence import outbox
from service.persistence.repositories.assignments import SqlAssignments
from service.persistence.repositories.audit import SqlAuditLog
from service.persistence.repositories.invitations import SqlInvitations
from service.persistence.repositories.scim import SqlGroups, SqlUsers
from service.persistence.repositories.user_types import SqlUserTypes

_OWNER = "rolecall_unit_of_work"


@dataclass(frozen=True)
class Effect:
    """An after-commit effect, recorded in the outbox as (tenant, task, object, payload).

    `row_id` is the outbox row this unit inserted for it, None when a pending row for
    the same key absorbed it (that row stands for it and is applied by the relay)."""

    tenant_id: str
    task: str
    object_id: str
    payload: dict[str, Any]
    row_id: int | None


@dataclass(frozen=True)
class Committed:
    """What a committed unit of work leaves to do: outbox rows it inserted (for the
    broker) and the effects it recorded (to apply at once)."""

    rows: list[outbox.Emitted] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)


AfterCommit = Callable[[Committed], None]


class UnitOfWork:
    """A transaction and the durable record of what must follow it."""

    def __init__(
        self, sessions: sessionmaker[Session], after_commit: AfterCommit | None = None
    ) -> None:
        self._sessions = sessions
        self._after_commit = after_commit
        self._session: Session | None = None
        self._depth = 0
        self._effects: list[Effect] = []

    # -- the transaction -----------------------------------------------------------

    def __enter__(self) -> Self:
        self._depth += 1
        if self._depth == 1:
            self._session = self._sessions()
            self._session.info[_OWNER] = self
            self._effects = []
            self._open_repositories(self._session)
        return self

    def _open_repositories(self, session: Session) -> None:
        """The repositories use cases read and write through, over this unit's session;
        a fake unit of work (tests/fakes) puts in-memory ones in their place."""
        self.audit = SqlAuditLog(session)
        self.assignments = SqlAssignments(session)
        self.users = SqlUsers(session)
        self.groups = SqlGroups(session)
        self.invitations = SqlInvitations(session)
        self.user_types = SqlUserTypes(session)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth:
            return
        session, self._session = self._session, None
        assert session is not None
        try:
            if exc_type is not None:
                session.rollback()
                return
            committed = Committed(outbox.emitted(session), self._effects)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info.pop(_OWNER, None)
            session.close()
        self._effects = []
        if self._after_commit is not None and (committed.rows or committed.effects):
            self._after_commit(committed)

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not entered (use `with uow:`)")
        return self._session

    @classmethod
    def of(cls, session: Session) -> UnitOfWork:
        """The unit of work that owns `session` (for helpers that were handed a session)."""
        owner = session.info.get(_OWNER)
        if owner is None:
            raise RuntimeError("this session belongs to no unit of work")
        return owner

    # -- what follows the commit ---------------------------------------------------

    def emit(
        self, tenant_id: str, task: str, object_id: str, payload: dict[str, Any] | None = None
    ) -> None:
        """Record that `task` must run for `object_id` once this unit has committed."""
        outbox.emit(self.session, tenant_id, task, object_id, payload)

    def effect(
        self, tenant_id: str, task: str, object_id: str, payload: dict[str, Any] | None = None
    ) -> None:
        """Record an effect to apply after the commit: at once by this unit's
        `after_commit`, and by the relay if that did not happen."""
        row = outbox.emit(self.session, tenant_id, task, object_id, payload)
        self._effects.append(
            Effect(tenant_id, task, object_id, payload or {}, row.id if row else None)
        )

    # -- trying a change ------------------------------------------------------------

    @contextmanager
    def dry_run(self) -> Iterator[Session]:
        """Run a change inside this (entered) unit and undo it, whatever happens: a
        SAVEPOINT that is always rolled back. The use cases called inside join this
        unit as usual; the outbox rows, audit events and model-version bump they
        write go with the savepoint, and so do the effects and emitted rows this
        unit keeps in memory (they would otherwise survive a savepoint rollback and
        be applied after the commit of changes that never happened)."""
        session = self.session
        effects = list(self._effects)
        emitted = list(session.info.get(outbox.SESSION_KEY, []))
        savepoint = session.begin_nested()
        try:
            yield session
        finally:
            if savepoint.is_active:
                savepoint.rollback()
            self._effects = effects
            if emitted:
                session.info[outbox.SESSION_KEY] = emitted
            else:
                session.info.pop(outbox.SESSION_KEY, None)

    # -- reads ---------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for a request that only reads: its statements run in autocommit,
        each on its own, which saves the BEGIN and COMMIT round trips of a transaction.
        Two statements of one read may see different commits; a read that reports
        current state tolerates that. Nothing is committed and nothing follows."""
        session = self._sessions()
        try:
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        finally:
            session.close()
