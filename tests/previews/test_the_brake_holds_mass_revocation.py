"""The brake on mass revocation: an admin change that would take access from more
users than the tenant allows is refused with 409 and the preview's counts unless
confirmed; the audit log records both. SCIM changes are never held."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory
from tests.permissions.test_scim_changes_reach_readers import Idp
from tests.previews.conftest import Reeport, preview

BRAKE = {"max_users": 2, "max_share": 0.1}


@pytest.fixture
def analysts(admin: Admin, directory: Directory, reeport: Reeport) -> str:
    """A tenant of 20 users, 5 of them Analysts with Edit in Folder 1 through one
    mapping; the brake allows 2 users (and 10 %)."""
    members = [directory.user(f"analyst{i}@reeport.example") for i in range(5)]
    for i in range(10):
        directory.user(f"reader{i}@reeport.example")
    directory.group("Analysts", users=members)
    admin.ok(admin.put("/settings/permissions", {"revocation_brake": BRAKE}))
    return admin.map("Analysts", "edit", reeport.folder_1)


def audited(admin: Admin, action: str) -> list[dict[str, Any]]:
    return admin.ok(admin.get("/audit", action=action))


def test_deleting_a_mapping_five_users_depend_on_is_held_then_applied_when_confirmed(
    admin: Admin, reeport: Reeport, analysts: str
) -> None:
    refused = admin.delete(f"/mappings/{analysts}")

    assert refused.status_code == 409 and refused.json["reason"] == "mass_revocation"
    assert refused.json["details"]["counts"]["users_losing"] == 5
    assert refused.json["details"]["active_users"] == 20
    assert "confirm" in refused.json["errors"]
    assert admin.get(f"/mappings/{analysts}").status_code == 200
    [refusal] = audited(admin, "mass_revocation.refused")
    assert refusal["after"]["counts"]["users_losing"] == 5
    assert audited(admin, "mapping.delete") == []

    admin.ok(admin.delete(f"/mappings/{analysts}", confirm="true"), 204)

    assert admin.get(f"/mappings/{analysts}").status_code == 404
    assert "edit" not in admin.at("analyst0@reeport.example", reeport.folder_1)
    [confirmation] = audited(admin, "mass_revocation.confirmed")
    assert confirmation["after"]["counts"]["users_losing"] == 5
    assert len(audited(admin, "mapping.delete")) == 1


def test_a_change_within_the_brake_needs_no_confirmation(
    admin: Admin, reeport: Reeport, analysts: str
) -> None:
    """Bob and Cat lose Edit in Folder 2: two users, within max_users."""
    admin.ok(admin.delete(f"/mappings/{reeport.editors_mapping}"), 204)

    assert audited(admin, "mass_revocation.") == []


def test_a_staged_apply_goes_through_the_brake_too(
    admin: Admin, reeport: Reeport, analysts: str
) -> None:
    done = preview(admin, "mapping.update", {"mapping_id": analysts, "scope_id": reeport.report_1})

    refused = admin.post(f"/previews/{done['id']}/apply", {})
    assert refused.status_code == 409 and refused.json["reason"] == "mass_revocation"
    assert refused.json["details"]["counts"] == done["counts"]

    applied = admin.ok(admin.post(f"/previews/{done['id']}/apply", {"confirm": True}))
    assert applied["applied_at"] is not None
    assert len(audited(admin, "mass_revocation.refused")) == 1
    assert len(audited(admin, "mass_revocation.confirmed")) == 1


def test_a_role_narrowed_for_many_users_is_held(
    admin: Admin, reeport: Reeport, analysts: str
) -> None:
    """PATCH /roles/edit taking Edit away from everyone holding it (7 users)."""
    refused = admin.patch("/roles/edit", {"grants": {}})
    assert refused.status_code == 409 and refused.json["reason"] == "mass_revocation"

    admin.ok(admin.patch("/roles/edit", {"grants": {}}, confirm="true"))


def test_the_default_role_changed_in_the_settings_is_held_as_on_the_product(
    admin: Admin, reeport: Reeport, analysts: str
) -> None:
    """The default product's default role can be set in the permission settings as well
    as on the product: the same change, under the same brake. Without View as the
    default, the five Analysts (and the other holders of a reporting role) lose it."""
    admin.ok(admin.put("/settings/permissions", {"default_product": "reporting"}))
    assert admin.ok(admin.get("/settings/permissions"))["default_role"] == "view"

    refused = admin.put("/settings/permissions", {"default_role": None})

    assert refused.status_code == 409 and refused.json["reason"] == "mass_revocation"
    assert refused.json["details"]["counts"]["users_losing"] >= 5
    assert admin.ok(admin.get("/settings/permissions"))["default_role"] == "view"
    assert len(audited(admin, "mass_revocation.refused")) == 1

    admin.ok(admin.put("/settings/permissions", {"default_role": None}, confirm="true"))

    assert admin.ok(admin.get("/settings/permissions"))["default_role"] is None
    assert "view" not in admin.at("analyst0@reeport.example", reeport.folder_1)
    assert len(audited(admin, "mass_revocation.confirmed")) == 1


def test_the_brake_is_a_tenant_setting_with_defaults(admin: Admin) -> None:
    assert admin.ok(admin.get("/settings/permissions"))["revocation_brake"] == {
        "max_users": 100,
        "max_share": 0.1,
    }
    version = admin.ok(admin.get("/settings/permissions"))["model_version"]

    admin.ok(admin.put("/settings/permissions", {"revocation_brake": BRAKE}))

    settings = admin.ok(admin.get("/settings/permissions"))
    assert settings["revocation_brake"] == BRAKE
    assert settings["model_version"] == version  # the brake moves no one's permissions
    bad = admin.put("/settings/permissions", {"revocation_brake": {"max_share": 1.5}})
    assert bad.status_code == 422 and "revocation_brake" in bad.json["errors"]["json"]


def test_scim_deprovisioning_is_never_held(
    admin: Admin, client: FlaskClient, tenant: TenantKeys, directory: Directory, reeport: Reeport
) -> None:
    """The IdP is the source of truth: deleting a group that gives five users Edit takes
    their access at once, however strict the brake."""
    idp = Idp(client, tenant)
    members = [idp.user(f"scim{i}@reeport.example") for i in range(5)]
    group = idp.group("Scim analysts", *members)
    admin.map("Scim analysts", "edit", reeport.folder_1)
    admin.ok(admin.put("/settings/permissions", {"revocation_brake": BRAKE}))
    assert "edit" in admin.at("scim0@reeport.example", reeport.folder_1)

    idp.delete("Groups", group)

    for i in range(5):
        assert "edit" not in admin.at(f"scim{i}@reeport.example", reeport.folder_1)
    assert audited(admin, "mass_revocation.") == []
