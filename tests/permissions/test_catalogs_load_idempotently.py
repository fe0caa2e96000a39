"""Catalogs: listed, shown, loaded once; a second load changes nothing (API and CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.permissions.conftest import Admin


def test_the_catalogs_are_listed_and_shown(admin: Admin) -> None:
    listed = admin.ok(admin.get("/catalogs"))
    shown = admin.ok(admin.get("/catalogs/licensing-portal"))

    assert [c["key"] for c in listed] == [
        "data-platform",
        "licensing-portal",
        "reporting",
        "usage-analytics",
    ]
    assert len(shown["roles"]) == 9
    assert shown["account_rules"]["disjoint_hierarchies"] is True
    assert admin.get("/catalogs/nope").status_code == 404


def test_loading_twice_changes_nothing_the_second_time(admin: Admin) -> None:
    first = admin.load("reporting")
    events = len(admin.ok(admin.get("/audit")))
    version = admin.ok(admin.get("/settings/permissions"))["model_version"]

    second = admin.load("reporting")

    assert first["changed"] is True
    assert sorted(first["roles"]["create"]) == ["admin", "edit", "manage", "share", "view"]
    assert first["set_default_role"] == "view"
    assert second["changed"] is False
    assert second["roles"]["create"] == [] and second["areas"]["create"] == []
    assert sorted(second["roles"]["unchanged"]) == ["admin", "edit", "manage", "share", "view"]
    assert len(admin.ok(admin.get("/audit"))) == events
    assert admin.ok(admin.get("/settings/permissions"))["model_version"] == version


def test_a_role_the_tenant_edited_is_kept_unless_overwritten(admin: Admin) -> None:
    admin.load("reporting")
    admin.ok(admin.patch("/roles/share", {"name": "Broadcast"}))

    kept = admin.load("reporting")
    restored = admin.ok(admin.post("/catalogs/reporting/load", {"overwrite": True}))

    assert kept["roles"]["kept"] == ["share"] and kept["changed"] is False
    assert restored["roles"]["update"] == ["share"]
    assert admin.ok(admin.get("/roles/share"))["name"] == "Share"


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLECALL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_the_cli_lists_catalogs_and_loads_one_idempotently(cli_database: None) -> None:
    assert run("db", "upgrade")[0] == 0
    assert run("tenant", "create", "acme")[0] == 0

    code, listed = run("catalog", "list")
    first = run("catalog", "load", "data-platform", "--tenant", "acme")
    second = run("catalog", "load", "data-platform", "--tenant", "acme")
    unknown = run("catalog", "load", "nope", "--tenant", "acme")

    assert code == 0 and "licensing-portal" in listed and "9 roles" in listed
    assert first[0] == 0 and "created 15 areas and 9 roles" in first[1]
    assert second == (
        0,
        "data-platform: nothing changed (already loaded into product data-platform)\n",
    )
    assert unknown[0] == 1 and "no catalog 'nope'" in unknown[1]
