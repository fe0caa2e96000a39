"""`rolecall preview`: what a change would do, printed as a table, then applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from service.runtime import Runtime
from service.services import catalogs, mappings, scopes, tokens
from service.settings import Settings
from service.wiring import build_runtime
from tests.permissions.conftest import Directory


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def editors_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A tenant "acme" whose Editors (Bob) hold Edit in Folder 2 (seed 003)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ROLECALL_DATABASE_URL", url)
    assert run("db", "upgrade")[0] == 0
    assert run("tenant", "create", "acme")[0] == 0
    runtime: Runtime = build_runtime(Settings(database_url=url))
    try:
        tenant_id = tokens.find_tenant(runtime.unit_of_work(), "acme").id
        catalogs.load_catalog(runtime.unit_of_work(), tenant_id, "reporting", actor="t")
        org = scopes.create_scope(
            runtime.unit_of_work(), tenant_id, type="organization", name="Org", actor="t"
        )
        folder = scopes.create_scope(
            runtime.unit_of_work(), tenant_id, type="folder", name="Folder 2", parent_id=org.id,
            actor="t",
        )  # fmt: skip
        directory = Directory(runtime, tenant_id)
        directory.group("Editors", users=[directory.user("bob@reeport.example")])
        body = {"group": {"kind": "displayName", "value": "Editors"}, "role_key": "edit",
                "scope_id": folder.id}  # fmt: skip
        return mappings.create_mapping(runtime.unit_of_work(), tenant_id, body, "t").row.id
    finally:
        runtime.close()


def test_preview_prints_the_counts_and_who_loses_what_then_applies_it(
    tmp_path: Path, editors_mapping: str
) -> None:
    change = tmp_path / "change.json"
    body = {"kind": "mapping.delete", "change": {"mapping_id": editors_mapping}}
    change.write_text(json.dumps(body))

    code, out, err = run("preview", "--tenant", "acme", str(change))

    assert code == 0, err
    assert "1 users considered, 0 gaining, 1 losing" in out
    assert "bob@reeport.example" in out
    assert "reporting/edit granted -> none at Folder 2" in out
    assert "applied" not in out

    code, out, err = run("preview", "--tenant", "acme", "--apply", str(change))

    assert code == 0, err
    assert "applied preview" in out
    code, _, err = run("preview", "--tenant", "acme", str(change))
    assert code == 1 and "no mapping" in err


def test_preview_refuses_a_file_that_is_not_a_change(tmp_path: Path, editors_mapping: str) -> None:
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"kind": "mapping.delete", "change": {}}))

    code, _, err = run("preview", "--tenant", "acme", str(change))

    assert code == 1 and "mapping_id" in err
