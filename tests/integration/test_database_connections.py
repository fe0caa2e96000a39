"""Pooled database connections: a connection left idle is checked before use (one that
a restart or a firewall closed is replaced unseen), a busy one is not pinged on every
request, and a database that is away is a 503 the caller may retry, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from service.persistence import db
from service.persistence.db import make_engine
from service.persistence.unit_of_work import UnitOfWork
from service.services import scim_users
from service.settings import Settings
from tests.conftest import TenantKeys
from tests.scim.conftest import USER_SCHEMA, assert_scim_error


@pytest.fixture
def postgres_engine(settings: Settings) -> Iterator[Engine]:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (ROLECALL_TEST_DATABASE_URL)")
    engine = make_engine(settings.with_overrides(database_pool_size=1))
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    # From a connection outside the pool, as a restart or a firewall would.
    with engine.pool._creator().cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_an_idle_connection_closed_by_the_server_is_replaced_before_use(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    first = _backend_pid(postgres_engine)
    _terminate(postgres_engine, first)
    assert _backend_pid(postgres_engine) != first  # no error reached the caller


def test_a_connection_in_steady_use_is_not_pinged(
    postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    monkeypatch.setattr(postgres_engine.dialect, "do_ping", pings.append)
    for _ in range(5):
        _backend_pid(postgres_engine)
    assert pings == []
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    _backend_pid(postgres_engine)
    assert len(pings) == 1


def test_a_database_that_is_away_is_a_503_to_retry_in_the_scim_error_format(
    client: FlaskClient, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(scim_users, "create_user", unreachable)
    response = client.post(
        "/scim/v2/Users",
        json={"schemas": [USER_SCHEMA], "userName": "alice"},
        headers=tenant.auth("scim"),
    )
    assert_scim_error(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert "server closed" not in response.get_data(as_text=True)


def test_a_connection_lost_under_a_scim_create_is_a_503_and_the_next_create_reconnects(
    client: FlaskClient, tenant: TenantKeys, settings: Settings
) -> None:
    # A lost connection is thrown away by SQLAlchemy, not handed to the next request.
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (ROLECALL_TEST_DATABASE_URL)")
    engine = client.application.extensions["rolecall"].engine
    engine.dispose()
    _terminate(engine, _backend_pid(engine))  # the pool's one connection

    def create(name: str) -> object:
        return client.post(
            "/scim/v2/Users",
            json={"schemas": [USER_SCHEMA], "userName": name},
            headers=tenant.auth("scim"),
        )

    assert_scim_error(create("lost"), 503)
    assert create("lost").status_code == 201  # retried as Retry-After says, on a new connection
    assert create("next").status_code == 201


def _in_autocommit(connection: Connection) -> bool:
    return bool(connection.connection.dbapi_connection.autocommit)  # type: ignore[union-attr]


def test_a_read_session_hands_its_connection_back_in_transactions(
    postgres_engine: Engine,
) -> None:
    # A read runs in autocommit (SQLAlchemy's isolation_level option); the next unit of
    # work on the same pooled connection must be a transaction again, all-or-nothing.
    work = UnitOfWork(db.make_session_factory(postgres_engine))
    with work.reading() as session:
        assert _in_autocommit(session.connection())
        session.execute(text("SELECT 1"))
    assert postgres_engine.pool.checkedin() == 1  # the same pooled connection comes back
    with work as uow:
        assert not _in_autocommit(uow.session.connection())
