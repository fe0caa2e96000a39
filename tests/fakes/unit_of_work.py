"""A unit of work with no database: the service layer's tests run use cases on it.

Its repositories keep their rows in memory for as long as the fake lives, so it
stands for the database across several units of work. What a committed unit would
have sent after its commit is kept in `emitted` (work for a worker) and `effects`
(applied at once); a unit that raised keeps nothing of either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from sqlalchemy.orm import Session

from service.persistence.unit_of_work import UnitOfWork
from tests.fakes.assignments import FakeAssignments
from tests.fakes.invitations import FakeInvitations
from tests.fakes.scim import FakeGroups, FakeScimTables, FakeUsers
from tests.fakes.user_types import FakeUserTypes


@dataclass(frozen=True)
class Recorded:
    """An outbox row a committed unit wrote: work for a worker, or an effect."""

    tenant_id: str
    task: str
    object_id: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    tenant_id: str
    actor: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class FakeAuditLog:
    def __init__(self) -> None:
        self.events: list[AuditRecord] = []
        self._pending: list[AuditRecord] = []

    def record(
        self,
        tenant_id: str,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        **provisioning: Any,
    ) -> AuditRecord:
        # The provisioning log's columns (outcome, reason...) are tested on the database.
        event = AuditRecord(tenant_id, actor, action, target_type, target_id, before, after)
        self._pending.append(event)
        return event

    def record_no_change(self, *args: Any) -> None:
        """Outside a SCIM request (as here) a change of nothing is no audit event."""

    def actions(self) -> list[str]:
        return [event.action for event in self.events]


class FakeUnitOfWork(UnitOfWork):
    def __init__(self) -> None:
        super().__init__(sessions=None)  # type: ignore[arg-type]  # never opens one
        self.commits = 0
        self.rollbacks = 0
        self.emitted: list[Recorded] = []
        self.effects: list[Recorded] = []
        self._emitting: list[Recorded] = []
        self._affecting: list[Recorded] = []
        self.audit = FakeAuditLog()  # type: ignore[assignment]
        self.assignments = FakeAssignments()  # type: ignore[assignment]
        self.scim = FakeScimTables()
        self.users = FakeUsers(self.scim)  # type: ignore[assignment]
        self.groups = FakeGroups(self.scim)  # type: ignore[assignment]
        self.invitations = FakeInvitations(self.scim)  # type: ignore[assignment]
        self.user_types = FakeUserTypes()  # type: ignore[assignment]

    def __enter__(self) -> Self:
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth:
            return
        if exc_type is None:
            self.commits += 1
            self.emitted += self._emitting
            self.effects += self._affecting
            self.audit.events += self.audit._pending
        else:
            self.rollbacks += 1
        self._emitting, self._affecting, self.audit._pending = [], [], []

    @property
    def session(self) -> Session:
        raise AssertionError("a use case on a fake unit of work reached for a session")

    @contextmanager
    def reading(self) -> Iterator[Session]:
        raise AssertionError("a use case on a fake unit of work reached for a session")
        yield  # pragma: no cover

    def emit(
        self, tenant_id: str, task: str, object_id: str, payload: dict[str, Any] | None = None
    ) -> None:
        self._assert_entered()
        self._emitting.append(Recorded(tenant_id, task, object_id, payload or {}))

    def effect(
        self, tenant_id: str, task: str, object_id: str, payload: dict[str, Any] | None = None
    ) -> None:
        self._assert_entered()
        self._affecting.append(Recorded(tenant_id, task, object_id, payload or {}))

    def _assert_entered(self) -> None:
        assert self._depth, "outbox rows are written inside `with uow:`"

    def tasks(self) -> list[str]:
        """The tasks of what committed units emitted, in order."""
        return [row.task for row in self.emitted]

    def effect_tasks(self) -> list[str]:
        return [row.task for row in self.effects]
