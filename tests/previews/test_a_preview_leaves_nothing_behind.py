"""A preview runs the real change in a transaction that is rolled back: no outbox row,
audit event, after-commit effect, model-version bump or cache change survives it."""

from __future__ import annotations

import pytest

from service.domain import NotFound
from service.persistence.unit_of_work import Committed, UnitOfWork
from service.runtime import Runtime
from service.services import mappings, scopes
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin
from tests.previews.conftest import Reeport, preview, traces


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("scope.delete", lambda r: {"scope_id": r.folder_2, "cascade": True}),
        ("scope.move", lambda r: {"scope_id": r.report_2, "parent_id": r.folder_1}),
        ("mapping.delete", lambda r: {"mapping_id": r.editors_mapping}),
        ("assignment.delete", lambda r: {"assignment_id": r.eve_manages_report_1}),
        ("product.update", lambda r: {"product": "reporting", "default_role": None}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_preview_changes_nothing(
    admin: Admin, runtime: Runtime, tenant: TenantKeys, reeport: Reeport, kind: str, change
) -> None:  # type: ignore[no-untyped-def]
    admin.permissions("bob@reeport.example")  # a cached set, which must stay as it is
    before = traces(runtime, tenant.id)

    done = preview(admin, kind, change(reeport))

    assert done["counts"]["users_losing"] + done["counts"]["users_gaining"] > 0
    assert traces(runtime, tenant.id) == before
    assert admin.get(f"/scopes/{reeport.folder_2}").status_code == 200
    assert admin.get(f"/mappings/{reeport.editors_mapping}").status_code == 200


def test_a_dry_run_hands_no_effect_or_outbox_row_to_the_commit(
    runtime: Runtime, tenant: TenantKeys, reeport: Reeport
) -> None:
    """Deleting a scope records an after-commit effect (cached ancestors dropped) and
    outbox rows; in a dry run they go with the savepoint."""
    handed: list[Committed] = []
    before = traces(runtime, tenant.id)
    uow = UnitOfWork(runtime.sessions, after_commit=handed.append)

    with uow, uow.dry_run():
        scopes.delete_scope(uow, tenant.id, reeport.folder_2, cascade=True, actor="t")

    assert handed == []
    assert traces(runtime, tenant.id) == before


def test_a_dry_run_that_fails_rolls_back_and_the_unit_goes_on(
    runtime: Runtime, tenant: TenantKeys, reeport: Reeport
) -> None:
    uow = UnitOfWork(runtime.sessions)
    with uow:
        with pytest.raises(NotFound), uow.dry_run():
            mappings.delete_mapping(uow, tenant.id, reeport.editors_mapping, "t")
            mappings.delete_mapping(uow, tenant.id, "no-such-mapping", "t")
        kept = mappings.get_mapping(uow, tenant.id, reeport.editors_mapping)

    assert kept.row.id == reeport.editors_mapping
