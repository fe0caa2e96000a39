"""Shared fixtures.

By default the suite runs on the embedded defaults: a SQLite file and the
in-process fake Redis, tasks run eagerly. With ROLECALL_TEST_DATABASE_URL and
ROLECALL_TEST_REDIS_URL set (as .ci/run does) the same tests run against a real
PostgreSQL and Redis. Migrations run once per session; every test starts from
empty tables and an empty cache.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from werkzeug.serving import make_server

from service.app import create_app
from service.persistence import schema
from service.persistence.base import Base
from service.runtime import Runtime
from service.services import tokens
from service.settings import Settings
from service.wiring import build_runtime


def _test_settings(tmp_dir: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=os.environ.get("ROLECALL_TEST_DATABASE_URL")
        or f"sqlite:///{tmp_dir / 'rolecall-test.db'}",
        redis_url=os.environ.get("ROLECALL_TEST_REDIS_URL") or "memory://",
        redis_key_prefix="rolecall-test:",
        secret_key="test-secret-key-not-for-production",
        public_base_url="http://localhost",
        mail_folder=str(tmp_dir / "mail"),
        # The contract test asks the feed for long polls and streams: held briefly here.
        feed_max_wait_seconds=1.0,
        feed_stream_seconds=1.5,
    )


@contextmanager
def counted(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block, as SQLAlchemy's
    execution events see them (every statement runs through SQLAlchemy)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _test_settings(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    schema.upgrade(rt.engine)
    yield rt
    rt.close()


def _empty_every_table(rt: Runtime) -> None:
    with rt.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "runtime" in request.fixturenames:
        rt: Runtime = request.getfixturevalue("runtime")
        _empty_every_table(rt)
        rt.redis.flushdb()


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    flask_app = create_app(runtime=runtime)
    flask_app.testing = True
    return flask_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class TenantKeys:
    """A tenant with one token of each kind, as a test would get from the CLI."""

    id: str
    name: str
    scim: str
    admin: str
    read: str
    portal: str

    def auth(self, kind: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, kind)}"}


@pytest.fixture
def make_tenant(runtime: Runtime) -> Callable[[str], TenantKeys]:
    def make(name: str = "acme") -> TenantKeys:
        with runtime.unit_of_work() as uow:  # one transaction for the tenant and its tokens
            tenant = tokens.create_tenant(uow, name)
            issued = {
                kind.value: tokens.issue_token(uow, tenant.id, kind.value).plaintext
                for kind in tokens.TokenKind
            }
            return TenantKeys(id=tenant.id, name=tenant.name, **issued)

    return make


@pytest.fixture
def tenant(make_tenant: Callable[[str], TenantKeys]) -> TenantKeys:
    return make_tenant("acme")


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}


# -- a real browser (Debian's chromium driven by Playwright) ---------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that opens the browser is marked `browser`: the pages it drives do
    not change with the database behind them, so .ci/run drives them once."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session; each test opens its own context."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The test app served on a loopback port by a thread, for a browser to visit."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page of its own browser context: no cookies or storage from another test."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
