"""The command line: migrations, the schema gate, tenants and tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from service.app import create_app
from service.cli import main
from service.persistence import schema
from service.persistence.db import make_engine
from service.persistence.schema import SchemaBehind
from service.settings import Settings
from service.wiring import build_runtime


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ROLECALL_DATABASE_URL", url)
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_app_refuses_to_start_on_a_database_that_is_behind(database: str) -> None:
    with pytest.raises(SchemaBehind, match="rolecall db upgrade"):
        create_app(Settings(database_url=database))


def test_the_app_refuses_a_database_one_migration_behind(database: str) -> None:
    engine = make_engine(Settings(database_url=database))
    schema.upgrade(engine, "0001")
    _current, heads = schema.current_and_head(engine)
    if heads == {"0001"}:
        pytest.skip("only one migration exists so far")
    with pytest.raises(SchemaBehind, match="rolecall db upgrade"):
        schema.ensure_current(engine)


def test_db_upgrade_brings_the_schema_to_head_and_the_app_starts(database: str) -> None:
    code, out, _ = run("db", "upgrade")
    assert code == 0, out
    assert out.startswith("database at ")
    assert run("db", "check")[0] == 0
    app = create_app(Settings(database_url=database))
    assert app.test_client().get("/healthz").status_code == 200


def test_a_command_on_a_schema_behind_says_which_command_fixes_it(database: str) -> None:
    code, _out, err = run("tenant", "create", "acme")
    assert code == 1
    assert "rolecall db upgrade" in err


def test_tenants_and_tokens_from_the_command_line(database: str) -> None:
    run("db", "upgrade")
    code, out, _ = run("tenant", "create", "acme")
    assert code == 0 and out.strip().endswith("\tacme")
    assert "already" in run("tenant", "create", "ACME")[2]

    code, token, err = run("token", "create", "--tenant", "acme", "--kind", "admin")
    assert code == 0
    token = token.strip()
    assert token.startswith("rc_admin_") and "shown this once" in err

    app = create_app(Settings(database_url=database))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/tokens", headers=auth).json
    assert [row["kind"] for row in listed] == ["admin"]

    code, out, _ = run("token", "list", "--tenant", "acme")
    assert listed[0]["id"] in out and token not in out

    assert run("token", "revoke", listed[0]["id"])[0] == 0
    assert client.get("/api/v1/tokens", headers=auth).status_code == 401


def test_rotating_from_the_command_line_prints_the_new_token(database: str) -> None:
    run("db", "upgrade")
    run("tenant", "create", "acme")
    old = run("token", "create", "--tenant", "acme", "--kind", "read")[1].strip()
    runtime = build_runtime(Settings(database_url=database))
    from service.services.tokens import authenticate

    with runtime.unit_of_work() as uow:
        session = uow.session
        caller = authenticate(session, old)
    assert caller is not None
    code, new, _ = run("token", "rotate", caller.token_id, "--overlap", "0")
    assert code == 0 and new.strip().startswith("rc_read_")
    with runtime.unit_of_work() as uow:
        session = uow.session
        assert authenticate(session, old) is None  # no overlap asked for
        assert authenticate(session, new.strip()) is not None


def test_an_unknown_tenant_is_a_clear_error(database: str) -> None:
    run("db", "upgrade")
    code, _, err = run("token", "create", "--tenant", "nobody", "--kind", "scim")
    assert code == 1 and "No tenant 'nobody'" in err
