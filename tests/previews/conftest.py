"""Fixtures for the previews tests: seed 003's reporting tree with users who hold
rights through IdP groups and direct assignments, and helpers that compute every
user's set the way readers get it, to compare a preview with what applying does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from service.domain import EffectivePermissions, ScopeTree
from service.domain.changes import AccessChange, expand
from service.persistence.models import AuditEvent
from service.persistence.outbox import OutboxRecord
from service.persistence.scim_models import ScimUser
from service.runtime import Runtime
from service.services.effective import compute_many
from service.services.permission_model import current_version, load_model
from tests.permissions.conftest import Admin, Directory
from tests.permissions.conftest import admin as admin  # the fixtures
from tests.permissions.conftest import directory as directory

Change = tuple[str, str, str, str | None, str | None]  # user, scope, area, from, to


@dataclass
class Reeport:
    """Seed 003's examples: an organization with Folder 1 (Report 1) and Folder 2
    (Report 2); Viewers hold View for the organization, Editors Edit in Folder 2."""

    org: str
    folder_1: str
    folder_2: str
    report_1: str
    report_2: str
    users: dict[str, str]
    viewers: str
    editors: str
    viewers_mapping: str
    editors_mapping: str
    cat_views_folder_1: str
    eve_manages_report_1: str


@pytest.fixture
def reeport(admin: Admin, directory: Directory) -> Reeport:
    admin.load("reporting")
    org = admin.scope("organization", "Reeport Org")
    folder_1 = admin.scope("folder", "Folder 1", org)
    folder_2 = admin.scope("folder", "Folder 2", org)
    report_1 = admin.scope("report", "Report 1", folder_1)
    report_2 = admin.scope("report", "Report 2", folder_2)
    names = ("ann", "bob", "cat", "dan", "eve")
    users = {name: directory.user(f"{name}@reeport.example") for name in names}
    viewers = directory.group("Viewers", users=[users["ann"], users["cat"]])
    editors = directory.group("Editors", users=[users["bob"], users["cat"]])
    viewers_mapping = admin.map("Viewers", "view", org)
    editors_mapping = admin.map("Editors", "edit", folder_2)
    # Seed 003: "View in Folder 1 + Edit in Folder 2"; Eve manages one report.
    cat_views_folder_1 = admin.assign("cat@reeport.example", "view", folder_1)
    eve_manages_report_1 = admin.assign("eve@reeport.example", "manage", report_1)
    return Reeport(
        org, folder_1, folder_2, report_1, report_2, users,
        viewers, editors, viewers_mapping, editors_mapping,
        cat_views_folder_1, eve_manages_report_1,
    )  # fmt: skip


Snapshot = tuple[ScopeTree, dict[str, EffectivePermissions]]


def snapshot(runtime: Runtime, tenant_id: str) -> Snapshot:
    """Every user's set now, computed as readers get it, and the scope tree."""
    with runtime.unit_of_work() as uow:
        session = uow.session
        model = load_model(session, tenant_id, use_cache=False)
        ids = session.scalars(select(ScimUser.id).where(ScimUser.tenant_id == tenant_id))
        results = compute_many(session, tenant_id, list(ids), model)
    return model.tree, {uid: r.permissions for uid, r in results.items()}


def actual_changes(before: Snapshot, after: Snapshot) -> set[Change]:
    """Brute force: every (user, scope, area) whose level differs, over both trees."""
    (old_tree, old), (new_tree, new) = before, after
    scope_ids = {s.id for s in old_tree} | {s.id for s in new_tree}
    out: set[Change] = set()
    for uid in old.keys() | new.keys():
        a, b = old[uid], new[uid]
        for area in a.levels.keys() | b.levels.keys():
            for sid in scope_ids:
                was = a.level_at(sid, area, old_tree) if sid in old_tree else None
                now = b.level_at(sid, area, new_tree) if sid in new_tree else None
                if was != now:
                    out.add((uid, sid, area, was, now))
    return out


def previewed_changes(
    users: list[dict[str, Any]], before: Snapshot, after: Snapshot
) -> set[Change]:
    """The preview's entries expanded by their documented rule."""
    out: set[Change] = set()
    for row in users:
        for data in (*row["gained"], *row["lost"]):
            entry = AccessChange.from_dict(data)
            tree = after[0] if entry.scope_id in after[0] else before[0]
            for sid in expand(entry, tree):
                out.add((row["user_id"], sid, entry.area, entry.from_level, entry.to_level))
    return out


def all_users(admin: Admin, preview_id: str, limit: int = 2) -> list[dict[str, Any]]:
    """Every user row of a preview, page by page."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        page = admin.ok(admin.get(f"/previews/{preview_id}/users", **query))
        rows += page["users"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def preview(admin: Admin, kind: str, change: dict[str, Any]) -> dict[str, Any]:
    return admin.ok(admin.post("/previews", {"kind": kind, "change": change}), 201)


@dataclass(frozen=True)
class Traces:
    """What a change leaves behind in the database and the cache."""

    outbox: int
    audit: int
    version: int
    cache: dict[bytes, Any]


def traces(runtime: Runtime, tenant_id: str) -> Traces:
    with runtime.unit_of_work() as uow:
        session = uow.session
        outbox = session.scalar(select(func.count(OutboxRecord.id))) or 0
        audit = session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.tenant_id == tenant_id)
        ) or 0  # fmt: skip
        version = current_version(session, tenant_id)
    redis = runtime.redis
    cache = {key: redis.dump(key) for key in sorted(redis.keys("*"))}
    return Traces(outbox, audit, version, cache)
