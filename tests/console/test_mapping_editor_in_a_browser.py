"""The mapping editor in a real browser: an admin fills the form, sees who would gain
the role, saves exactly that, and an app reading permissions sees it at once. The
pages it passes through have no serious or critical accessibility violation."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import TenantKeys
from tests.console.conftest import BrowserConsole
from tests.console.model_seed import Reeport
from tests.console.model_seed import admin as admin  # the fixtures
from tests.console.model_seed import directory as directory
from tests.console.model_seed import reeport as reeport


def may_share(client: FlaskClient, tenant: TenantKeys, user: str, scope: str) -> bool:
    """What the read API answers an app asking whether ``user`` may share at ``scope``."""
    check = {"user": user, "area": "reporting/share", "level": "granted", "scope": scope}
    response = client.post("/api/v1/check", json={"checks": [check]}, headers=tenant.auth("read"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return bool(response.json["results"][0]["allowed"])


def serious_violations(page: Any) -> list[str]:
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    found = axe.run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in {"serious", "critical"}]


def test_an_admin_creates_a_mapping_after_seeing_its_preview(
    signed_in_page: BrowserConsole, reeport: Reeport, client: FlaskClient, tenant: TenantKeys
) -> None:
    page = signed_in_page.page
    bob = "bob@reeport.example"
    assert not may_share(client, tenant, bob, reeport.folder_2)

    page.get_by_role("link", name="Mappings").click()
    assert serious_violations(page) == []
    page.get_by_label("The group is named by its").select_option("displayName")
    page.get_by_label("Group", exact=True).fill("Editors")
    page.get_by_label("Role").select_option("reporting/share")
    page.get_by_label("Scope").select_option(reeport.folder_2)
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    assert "Users gaining access" in preview.inner_text()
    users = preview.locator("#preview-users tbody").inner_text()
    assert bob in users and "cat@reeport.example" in users
    assert "ann@reeport.example" not in users
    assert "reporting/share none -> granted" in users
    assert page.get_by_label("Group", exact=True).input_value() == "Editors"  # still filled
    assert not may_share(client, tenant, bob, reeport.folder_2)  # a preview changes nothing
    assert serious_violations(page) == []

    page.get_by_role("button", name="Save mapping").click()
    page.wait_for_selector("text=Mapping saved")
    saved = page.locator("#mappings tbody tr", has_text="reporting/share")
    assert "Editors" in saved.inner_text()
    assert "Reeport Org > Folder 2" in saved.inner_text()
    assert may_share(client, tenant, bob, reeport.folder_2)
    assert may_share(client, tenant, bob, reeport.report_2)  # the role reaches below
    assert not may_share(client, tenant, "ann@reeport.example", reeport.folder_2)
