"""Staged apply: a previewed change is applied with the preview's id, and refused
(409) when the model or the change's effect moved since, so that what was reviewed
is what is applied."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.domain import Conflict
from service.persistence.preview_models import PreviewRow
from service.runtime import Runtime
from service.services import previews
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin
from tests.previews.conftest import Reeport, preview

BOB = "bob@reeport.example"


def test_applying_a_preview_makes_the_change_it_showed(admin: Admin, reeport: Reeport) -> None:
    done = preview(admin, "mapping.delete", {"mapping_id": reeport.editors_mapping})

    applied = admin.ok(admin.post(f"/previews/{done['id']}/apply", {}))

    assert applied["applied_at"] is not None and applied["counts"] == done["counts"]
    assert admin.get(f"/mappings/{reeport.editors_mapping}").status_code == 404
    assert "edit" not in admin.at(BOB, reeport.folder_2)
    actions = [e["action"] for e in admin.ok(admin.get("/audit"))]
    assert "preview.apply" in actions and "mapping.delete" in actions


def test_a_preview_is_applied_once(admin: Admin, reeport: Reeport) -> None:
    done = preview(admin, "mapping.delete", {"mapping_id": reeport.editors_mapping})
    admin.ok(admin.post(f"/previews/{done['id']}/apply", {}))

    again = admin.post(f"/previews/{done['id']}/apply", {})

    assert again.status_code == 409 and again.json["reason"] == "preview_applied"


def test_a_preview_is_stale_once_the_model_moved(admin: Admin, reeport: Reeport) -> None:
    done = preview(admin, "mapping.delete", {"mapping_id": reeport.editors_mapping})
    admin.scope("report", "Report 3", reeport.folder_1)

    stale = admin.post(f"/previews/{done['id']}/apply", {})

    assert stale.status_code == 409 and stale.json["reason"] == "preview_stale"
    assert stale.json["details"]["previewed_version"] == done["version"]
    assert admin.get(f"/mappings/{reeport.editors_mapping}").status_code == 200


def test_a_preview_is_stale_once_an_affected_users_assignments_changed(
    admin: Admin, reeport: Reeport
) -> None:
    """Direct assignments do not move the model version: the change is evaluated again
    and compared. Bob, given Edit in Folder 2 directly, would no longer lose it."""
    done = preview(admin, "mapping.delete", {"mapping_id": reeport.editors_mapping})
    admin.assign(BOB, "edit", reeport.folder_2)

    stale = admin.post(f"/previews/{done['id']}/apply", {})

    assert stale.status_code == 409 and stale.json["reason"] == "preview_stale"
    assert admin.get(f"/mappings/{reeport.editors_mapping}").status_code == 200


def test_an_expired_preview_is_not_applied(
    admin: Admin, runtime: Runtime, tenant: TenantKeys, reeport: Reeport
) -> None:
    done = preview(admin, "mapping.delete", {"mapping_id": reeport.editors_mapping})
    later = previews.utcnow() + previews.PREVIEW_LIFETIME + timedelta(seconds=1)

    with pytest.raises(Conflict) as refused:
        previews.apply_preview(runtime.unit_of_work(), tenant.id, done["id"], "t", now=later)

    assert refused.value.code == "preview_expired"
    assert admin.get(f"/mappings/{reeport.editors_mapping}").status_code == 200


def test_users_of_a_preview_page_with_a_cursor(admin: Admin, reeport: Reeport) -> None:
    """Making Share the default gives it to Ann, Bob, Cat and Eve."""
    done = preview(admin, "product.update", {"product": "reporting", "default_role": "share"})
    users = f"/previews/{done['id']}/users"
    first = admin.ok(admin.get(users, limit=1))
    second = admin.ok(admin.get(users, limit=1, cursor=first["next_cursor"]))
    everyone = admin.ok(admin.get(users, limit=1000))

    assert [*first["users"], *second["users"]] == everyone["users"][:2]
    assert everyone["next_cursor"] is None
    assert len(everyone["users"]) == 4 == done["counts"]["users_gaining"]
    bad = admin.get(users, limit=0)
    assert bad.status_code == 422 and "limit" in bad.json["errors"]["query"]


def test_previews_expired_for_a_lifetime_are_removed_when_another_is_made(
    admin: Admin, runtime: Runtime, reeport: Reeport
) -> None:
    old = preview(admin, "mapping.delete", {"mapping_id": reeport.editors_mapping})
    with runtime.unit_of_work() as uow:
        row = uow.session.get(PreviewRow, old["id"])
        assert row is not None
        row.expires_at = previews.utcnow() - previews.PREVIEW_LIFETIME - timedelta(seconds=1)

    preview(admin, "mapping.delete", {"mapping_id": reeport.viewers_mapping})

    assert admin.get(f"/previews/{old['id']}").status_code == 404
