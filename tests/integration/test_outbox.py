"""The transactional outbox: work is recorded with the change, coalesced, and sent
after the commit; a broker outage delays it but loses nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import delete, select

from service.observability import set_request_id
from service.persistence.outbox import OutboxRecord, claim_pending, emit, emitted
from service.persistence.unit_of_work import UnitOfWork
from service.runtime import Runtime, set_runtime
from service.services import relay
from tests.conftest import TenantKeys


class RecordingBroker:
    """Stands in for Celery's publish: records sends, or fails like a broker that is down."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object], str | None]] = []
        self.down = False

    def __call__(self, task: str, kwargs: dict[str, object], request_id: str | None = None) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.sent.append((task, kwargs, request_id))


@pytest.fixture
def broker(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingBroker]:
    fake = RecordingBroker()
    monkeypatch.setattr(runtime, "send", fake)
    yield fake


def pending(runtime: Runtime) -> list[OutboxRecord]:
    """Every row left in the outbox: a row whose task was sent is deleted."""
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        return list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))


def test_work_is_sent_after_the_change_commits(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    set_request_id("request-42")
    with runtime.unit_of_work() as uow:
        uow.emit(tenant.id, "rolecall.heartbeat", "object-1", {"extra": 1})
        assert broker.sent == []  # nothing leaves before the commit
    assert broker.sent == [
        (
            "rolecall.heartbeat",
            {"tenant_id": tenant.id, "object_id": "object-1", "extra": 1},
            "request-42",
        )
    ]
    assert pending(runtime) == []


def test_a_rolled_back_change_sends_nothing(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    with pytest.raises(RuntimeError), runtime.unit_of_work() as uow:
        uow.emit(tenant.id, "rolecall.heartbeat", "object-1")
        raise RuntimeError("the change failed")
    assert broker.sent == []
    assert pending(runtime) == []


def test_a_burst_of_changes_to_one_object_leaves_one_pending_row(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    broker.down = True
    for _ in range(100):
        with runtime.unit_of_work() as uow:
            session = uow.session
            emit(session, tenant.id, "rolecall.heartbeat", "user-1")
    with runtime.unit_of_work() as uow:
        uow.emit(tenant.id, "rolecall.heartbeat", "user-2")
    assert sorted(row.object_id for row in pending(runtime)) == ["user-1", "user-2"]

    broker.down = False
    assert relay.relay(runtime) == 2
    assert [kwargs["object_id"] for _, kwargs, _ in broker.sent] == ["user-1", "user-2"]


def test_work_committed_while_the_broker_is_down_is_sent_by_the_sweep(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    broker.down = True
    with runtime.unit_of_work() as uow:
        uow.emit(tenant.id, "rolecall.heartbeat", "object-1")
    [left] = pending(runtime)
    assert left.attempts == 1 and "ConnectionError" in (left.last_error or "")
    assert relay.outbox_lag_seconds(runtime.unit_of_work()) >= 0.0

    assert relay.relay(runtime) == 0  # still down: still pending
    broker.down = False
    assert relay.relay(runtime) == 1
    assert pending(runtime) == []
    assert relay.relay(runtime) == 0  # sent once only


def test_a_new_change_after_dispatch_records_new_work(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    for _ in range(2):
        with runtime.unit_of_work() as uow:
            session = uow.session
            emit(session, tenant.id, "rolecall.heartbeat", "object-1")
    assert len(broker.sent) == 2


def test_a_hundred_changes_to_one_user_queue_one_recompute(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    from service.services import propagation

    for _ in range(100):
        with runtime.unit_of_work() as uow:
            session = uow.session
            propagation.user_changed(UnitOfWork.of(session), tenant.id, "user-1")
    assert [task for task, _, _ in broker.sent] == [propagation.RECOMPUTE_USER]
    assert pending(runtime) == []  # the others were absorbed, not left behind

    # Once the queued run starts, a further change needs (and gets) a run of its own.
    relay.started(runtime, propagation.RECOMPUTE_USER, tenant.id, "user-1")
    with runtime.unit_of_work() as uow:
        session = uow.session
        propagation.user_changed(UnitOfWork.of(session), tenant.id, "user-1")
    assert len(broker.sent) == 2


def test_lists_of_users_are_never_absorbed_into_each_other(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    from service.services import propagation

    for ids in (["a", "b"], ["c"]):
        with runtime.unit_of_work() as uow:
            session = uow.session
            propagation.users_changed(UnitOfWork.of(session), tenant.id, ids)
    assert [kwargs["user_ids"] for _, kwargs, _ in broker.sent] == [["a", "b"], ["c"]]


@pytest.fixture
def relay_process_mode(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """ROLECALL_OUTBOX_RELAY=process: requests write, `rolecall relay` sends."""
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.with_overrides(outbox_relay="process")
    )
    return runtime


def test_in_process_mode_a_commit_sends_nothing_and_the_relay_sends_it(
    relay_process_mode: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    runtime = relay_process_mode
    with runtime.unit_of_work() as uow:
        uow.emit(tenant.id, "rolecall.heartbeat", "object-1", {"extra": 1})
    assert broker.sent == []
    assert [row.object_id for row in pending(runtime)] == ["object-1"]

    assert relay.relay(runtime) == 1
    assert [(task, kwargs["object_id"]) for task, kwargs, _ in broker.sent] == [
        ("rolecall.heartbeat", "object-1")
    ]
    assert pending(runtime) == []


def test_the_relay_sends_per_user_work_as_one_task_per_tenant_and_payload(
    relay_process_mode: Runtime,
    tenant: TenantKeys,
    make_tenant: Callable[[str], TenantKeys],
    broker: RecordingBroker,
) -> None:
    from service.services import propagation

    runtime = relay_process_mode
    other = make_tenant("other")
    with runtime.unit_of_work() as uow:
        session = uow.session
        for user in ("u1", "u2", "u3"):
            propagation.user_changed(UnitOfWork.of(session), tenant.id, user)
        propagation.user_changed(UnitOfWork.of(session), other.id, "u9")
        emit(session, tenant.id, "rolecall.heartbeat", "object-1")
    assert relay.relay(runtime) == 5

    sent = sorted(
        (task, kwargs["tenant_id"], kwargs.get("user_ids")) for task, kwargs, _ in broker.sent
    )
    assert sent == sorted(
        [
            (propagation.RECOMPUTE_USERS, tenant.id, ["u1", "u2", "u3"]),
            (propagation.RECOMPUTE_USERS, other.id, ["u9"]),
            ("rolecall.heartbeat", tenant.id, None),
        ]
    )
    assert pending(runtime) == []


def test_a_batch_the_broker_refused_stays_pending_and_goes_out_later(
    relay_process_mode: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    from service.services import propagation

    runtime = relay_process_mode
    with runtime.unit_of_work() as uow:
        session = uow.session
        for user in ("u1", "u2"):
            propagation.user_changed(UnitOfWork.of(session), tenant.id, user)
    broker.down = True
    assert relay.relay(runtime) == 0
    left = pending(runtime)
    assert [(row.attempts, "ConnectionError" in (row.last_error or "")) for row in left] == [
        (1, True),
        (1, True),
    ]
    broker.down = False
    assert relay.relay(runtime) == 2
    assert [kwargs["user_ids"] for _, kwargs, _ in broker.sent] == [["u1", "u2"]]


def test_the_relay_loop_sends_work_as_it_is_committed_until_stopped(
    relay_process_mode: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    runtime = relay_process_mode
    stop = threading.Event()
    loop = threading.Thread(target=relay.run_forever, args=(runtime, stop, 0.01))
    loop.start()
    try:
        with runtime.unit_of_work() as uow:
            session = uow.session
            emit(session, tenant.id, "rolecall.heartbeat", "object-1")
        deadline = time.monotonic() + 10
        while not broker.sent and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()
    assert [kwargs["object_id"] for _, kwargs, _ in broker.sent] == ["object-1"]


def test_in_process_mode_changes_to_a_user_with_a_run_waiting_queue_no_second_run(
    relay_process_mode: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    from service.services import propagation

    runtime = relay_process_mode
    for _ in range(20):  # changes spread over many looks of the relay
        with runtime.unit_of_work() as uow:
            session = uow.session
            propagation.user_changed(UnitOfWork.of(session), tenant.id, "user-1")
            propagation.user_changed(UnitOfWork.of(session), tenant.id, f"other-{_}")
        relay.relay(runtime)
    runs_of_user_1 = [
        kwargs
        for _, kwargs, _ in broker.sent
        if "user-1" in kwargs["user_ids"]  # type: ignore[operator]
    ]
    assert len(runs_of_user_1) == 1
    assert pending(runtime) == []

    # Once the queued run starts, a further change needs (and gets) a run of its own.
    from worker.permission_tasks import recompute_users

    set_runtime(runtime)
    recompute_users(tenant.id, "batch", ["user-1"])  # the worker's task clears the flag
    with runtime.unit_of_work() as uow:
        session = uow.session
        propagation.user_changed(UnitOfWork.of(session), tenant.id, "user-1")
    relay.relay(runtime)
    assert broker.sent[-1][1]["user_ids"] == ["user-1"]


@pytest.fixture
def row_locks(runtime: Runtime) -> None:
    """Concurrent changes and the relay meet on PostgreSQL's row locks; SQLite has a
    single writer, whose transactions always wait for each other."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL's row locks (ROLECALL_TEST_DATABASE_URL)")


def _waiting_row(runtime: Runtime, tenant: TenantKeys) -> None:
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        emit(session, tenant.id, "rolecall.heartbeat", "object-1")


def _change_in_a_thread(
    runtime: Runtime, tenant: TenantKeys
) -> tuple[threading.Thread, list[bool]]:
    """Another request changing object-1 concurrently; says whether it inserted a row."""
    inserted: list[bool] = []

    def change() -> None:
        with UnitOfWork(runtime.sessions) as uow:
            session = uow.session
            emit(session, tenant.id, "rolecall.heartbeat", "object-1")
            inserted.append(bool(emitted(session)))

    thread = threading.Thread(target=change)
    thread.start()
    return thread, inserted


@pytest.mark.usefixtures("row_locks")
def test_a_change_made_while_the_relay_sends_its_objects_row_gets_a_row_of_its_own(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    # The relay's task may start before a change committed meanwhile; if that change
    # were absorbed by the row being sent, nothing would ever run for it.
    _waiting_row(runtime, tenant)
    with UnitOfWork(runtime.sessions) as sending_unit:
        sending = sending_unit.session
        claimed = claim_pending(sending)
        assert [row.object_id for row in claimed] == ["object-1"]
        changing, inserted = _change_in_a_thread(runtime, tenant)
        changing.join(timeout=0.5)
        assert changing.is_alive()  # it waits for the relay to finish with the row
        sending.execute(delete(OutboxRecord).where(OutboxRecord.id == claimed[0].id))
    changing.join(timeout=10)
    assert inserted == [True]
    assert [row.object_id for row in pending(runtime)] == ["object-1"]


def test_a_change_to_an_object_with_a_row_waiting_is_absorbed(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    _waiting_row(runtime, tenant)
    with UnitOfWork(runtime.sessions) as uow:
        session = uow.session
        emit(session, tenant.id, "rolecall.heartbeat", "object-1")
        assert emitted(session) == []
    assert len(pending(runtime)) == 1


@pytest.mark.usefixtures("row_locks")
def test_the_relay_sends_an_absorbing_row_only_once_the_change_it_absorbed_commits(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    _waiting_row(runtime, tenant)
    with UnitOfWork(runtime.sessions) as changing_unit:
        changing = changing_unit.session
        emit(changing, tenant.id, "rolecall.heartbeat", "object-1")
        with UnitOfWork(runtime.sessions) as sending_unit:
            sending = sending_unit.session
            assert claim_pending(sending) == []  # held by the change in flight
    with UnitOfWork(runtime.sessions) as sending_unit:
        sending = sending_unit.session
        assert [row.object_id for row in claim_pending(sending)] == ["object-1"]


@pytest.mark.usefixtures("row_locks")
def test_changes_absorbed_by_one_row_do_not_wait_for_each_other(
    runtime: Runtime, tenant: TenantKeys, broker: RecordingBroker
) -> None:
    _waiting_row(runtime, tenant)
    with UnitOfWork(runtime.sessions) as first_unit:
        first = first_unit.session
        emit(first, tenant.id, "rolecall.heartbeat", "object-1")
        second, inserted = _change_in_a_thread(runtime, tenant)
        second.join(timeout=10)
        assert inserted == [False]  # absorbed, while the first change is still open
    assert len(pending(runtime)) == 1
