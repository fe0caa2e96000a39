"""Full and partial recomputes as jobs with progress, from the API and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.runtime import Runtime
from service.services import recompute_jobs
from tests.permissions.conftest import Admin, Directory


@pytest.fixture
def people(admin: Admin, directory: Directory) -> list[str]:
    admin.load("reporting")
    org = admin.scope("organization", "Org")
    admin.map("Everyone", "view", org)
    users = [directory.user(f"user{i}@example.org") for i in range(5)]
    directory.group("Everyone", users=users)
    return users


def test_a_full_recompute_reports_its_progress_and_finishes(
    admin: Admin, people: list[str], runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recompute_jobs, "BATCH_SIZE", 2)
    job = admin.ok(admin.post("/recomputes", {}), 202)
    assert job["total_users"] == 5 and job["batches"] == 3
    assert job["status"] == "finished"  # tasks ran in-process
    assert job["done_users"] == 5 and job["done_batches"] == 3
    assert all(runtime.cache.version_of(admin.keys.id, u) for u in people)
    assert admin.ok(admin.get(f"/recomputes/{job['id']}")) == job


def test_a_batch_run_twice_is_counted_once(
    admin: Admin, people: list[str], runtime: Runtime
) -> None:
    job = admin.ok(admin.post("/recomputes", {}), 202)
    recompute_jobs.run_batch(runtime, admin.keys.id, f"{job['id']}:0")
    again = admin.ok(admin.get(f"/recomputes/{job['id']}"))
    assert again["done_users"] == 5 and again["done_batches"] == 1


def test_a_partial_recompute_names_one_user(admin: Admin, people: list[str]) -> None:
    job = admin.ok(admin.post("/recomputes", {"user": "user3@example.org"}), 202)
    assert job["user"] == "user3@example.org" and job["total_users"] == 1
    missing = admin.post("/recomputes", {"user": "nobody"})
    assert missing.status_code == 404


def test_another_tenants_job_is_not_found(
    admin: Admin, people: list[str], client, make_tenant
) -> None:
    job = admin.ok(admin.post("/recomputes", {}), 202)
    other = make_tenant("globex")
    assert (
        client.get(f"/api/v1/recomputes/{job['id']}", headers=other.auth("admin")).status_code
        == 404
    )


def test_the_command_line_runs_a_recompute_and_sums_it_up(
    admin: Admin, people: list[str], settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.cli import main

    monkeypatch.setenv("ROLECALL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ROLECALL_REDIS_URL", settings.redis_url)
    result = CliRunner().invoke(main, ["recompute", "--tenant", admin.keys.name])
    assert result.exit_code == 0, result.output
    assert "finished: 5 of 5 users recomputed in 1 of 1 batches" in result.stdout
