"""The console's Model pages: products and presets, the scope tree, roles, mappings
with the impact preview shown before saving, assignments and account conflicts. Each
page shows the tenant's own data, a refused form names its field, and another
tenant's objects are 404 and never shown."""

from __future__ import annotations

import re
from html import unescape

from flask.testing import FlaskClient

from service.runtime import Runtime
from service.services.permission_model import read_model
from service.services.user_permissions import user_names
from tests.conftest import TenantKeys
from tests.console.conftest import Console
from tests.console.model_seed import Globex, Reeport
from tests.console.model_seed import admin as admin  # the fixtures
from tests.console.model_seed import directory as directory
from tests.console.model_seed import globex as globex
from tests.console.model_seed import reeport as reeport
from tests.permissions.conftest import Admin, Directory


def text(html: str) -> str:
    """A page's text as a person reads it: tags dropped, spaces folded."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_products_list_their_areas_and_roles_and_another_tenant_s_never_show(
    console: Console, reeport: Reeport, globex: Globex, admin: Admin
) -> None:
    admin.ok(admin.post("/products", {"key": "billing", "name": "Billing portal"}), 201)
    page = console.get("/console/products").get_data(as_text=True)
    row = text(page.split('data-product="reporting"')[1].split("</tr>")[0])
    assert "Reporting tool" in row and " 5 " in row  # five areas, five roles
    assert 'data-product="billing"' in page
    assert 'data-catalog="licensing-portal"' in page
    assert "Globex" not in page


def test_creating_a_product_and_loading_a_preset_into_it(console: Console, admin: Admin) -> None:
    created = console.post("/console/products", data={"key": "bi", "name": "Insights"})
    assert created.status_code == 303
    loaded = console.post("/console/catalogs/reporting/load", data={"product": "bi"})
    assert loaded.status_code == 303
    page = console.get("/console/products").get_data(as_text=True)
    assert "is loaded into product bi: 5 areas and 5 roles created" in page
    assert [p["key"] for p in admin.ok(admin.get("/products"))] == ["bi"]
    assert len(admin.ok(admin.get("/roles", product="bi"))) == 5


def test_a_refused_product_names_the_field_and_keeps_what_was_typed(
    console: Console, reeport: Reeport
) -> None:
    refused = console.post("/console/products", data={"key": "reporting", "name": "Again"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="key-error"' in page and "exists already" in page
    assert 'value="Again"' in page
    assert console.post("/console/catalogs/nope/load").status_code == 404


def test_the_scope_tree_is_nested_and_accounts_show_their_type(
    console: Console, reeport: Reeport, admin: Admin, globex: Globex
) -> None:
    account = admin.scope("account", "Acme Customer", reeport.org, "customer")
    page = console.get("/console/scopes").get_data(as_text=True)
    org = page.split(f'data-scope-id="{reeport.org}"')[1]
    folder_1 = org.split(f'data-scope-id="{reeport.folder_1}"')[1]
    assert f'data-scope-id="{reeport.report_1}"' in folder_1.split("</ul>")[0]
    shown = text(page.split(f'data-scope-id="{account}"')[1].split("</li>")[0])
    assert "Acme Customer account customer account" in shown
    assert "Globex Secret Org" not in page


def test_adding_a_scope_under_a_parent(console: Console, reeport: Reeport, admin: Admin) -> None:
    added = console.post(
        "/console/scopes", data={"parent_id": reeport.folder_2, "type": "report", "name": "Q3"}
    )
    assert added.status_code == 303
    children = admin.ok(admin.get("/scopes", parent_id=reeport.folder_2))
    assert "Q3" in [s["name"] for s in children]
    assert "Scope Q3 (report) is added." in console.get("/console/scopes").get_data(as_text=True)


def test_a_refused_scope_names_the_field(
    console: Console, reeport: Reeport, globex: Globex
) -> None:
    refused = console.post("/console/scopes", data={"type": "account", "name": "No type"})
    assert refused.status_code == 422
    assert 'id="account_type-error"' in refused.get_data(as_text=True)
    foreign = console.post(
        "/console/scopes", data={"type": "folder", "name": "Inside", "parent_id": globex.scope}
    )
    assert foreign.status_code == 422
    assert 'id="parent_id-error"' in foreign.get_data(as_text=True)


def test_roles_show_their_grants_and_a_new_role_is_created(
    console: Console, reeport: Reeport, admin: Admin
) -> None:
    page = console.get("/console/roles").get_data(as_text=True)
    manage = text(page.split('data-role="reporting/manage"')[1].split("</tr>")[0])
    assert "manage → granted" in manage and "view → granted" in manage
    assert "organization, folder, report" in manage or "any" in manage

    created = console.post(
        "/console/roles",
        data={
            "product": "reporting",
            "key": "auditor",
            "name": "Auditor",
            "grant.view": "granted",
            "grant.share": "granted",
            "allowed_scope_types": ["organization", "folder"],
            "reaches_descendants": "true",
        },
    )
    assert created.status_code == 303
    role = admin.ok(admin.get("/roles/auditor", product="reporting"))
    assert role["grants"] == {"share": "granted", "view": "granted"}
    assert role["allowed_scope_types"] == ["folder", "organization"]
    assert role["reaches_descendants"] is True


def test_a_refused_role_names_the_field(console: Console, reeport: Reeport) -> None:
    refused = console.post(
        "/console/roles", data={"product": "reporting", "key": "view", "name": "Twice"}
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="key-error"' in page and "exists already" in page


# -- mappings -----------------------------------------------------------------------


def test_the_mappings_are_listed_with_their_group_role_and_scope(
    console: Console, reeport: Reeport, globex: Globex
) -> None:
    page = console.get("/console/mappings").get_data(as_text=True)
    row = text(page.split(f'data-mapping-id="{reeport.editors_mapping}"')[1].split("</tr>")[0])
    assert "Editors displayName Edit" in row and "Reeport Org > Folder 2" in row
    assert "Globex" not in page and globex.mapping not in page
    for odd in ("0", "²", "x", "9" * 40):  # refused as the API refuses it, never a 500
        assert console.get("/console/mappings", query_string={"page": odd}).status_code == 422


def test_a_mapping_is_previewed_before_it_is_saved_and_saved_as_previewed(
    console: Console, reeport: Reeport, admin: Admin
) -> None:
    form = {
        "group.kind": "displayName",
        "group.value": "Editors",
        "role_key": "reporting/share",
        "scope_id": reeport.folder_2,
    }
    previewed = console.post("/console/mappings/preview", data=form)
    assert previewed.status_code == 200
    page = previewed.get_data(as_text=True)
    preview = text(page.split('id="preview"')[1].split("</section>")[0])
    assert "Users gaining access 2" in preview
    assert "bob@reeport.example gained reporting/share none -> granted" in preview
    assert "cat@reeport.example gained" in preview
    assert 'value="Editors"' in page  # the form is still filled
    assert admin.ok(admin.get("/mappings", role_key="share")) == []  # nothing saved yet

    preview_id = re.search(r'name="preview_id" value="([^"]+)"', page)
    assert preview_id
    saved = console.post("/console/mappings/apply", data={"preview_id": preview_id.group(1)})
    assert saved.status_code == 303
    listed = console.get("/console/mappings").get_data(as_text=True)
    assert "Mapping saved: members of group Editors" in listed
    assert "2 user(s) gained access" in listed
    assert admin.at("bob@reeport.example", reeport.folder_2)["share"] == "granted"
    again = console.post("/console/mappings/apply", data={"preview_id": preview_id.group(1)})
    assert again.status_code == 409
    assert "was applied already" in again.get_data(as_text=True)


def test_a_preview_the_model_moved_past_is_not_saved(
    console: Console, reeport: Reeport, admin: Admin
) -> None:
    form = {
        "group.kind": "displayName",
        "group.value": "Viewers",
        "role_key": "reporting/share",
        "scope_id": reeport.org,
    }
    page = console.post("/console/mappings/preview", data=form).get_data(as_text=True)
    preview_id = re.search(r'name="preview_id" value="([^"]+)"', page)
    assert preview_id
    admin.scope("folder", "Folder 3", reeport.org)  # the model moves on
    stale = console.post("/console/mappings/apply", data={"preview_id": preview_id.group(1)})
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "preview the change again" in body
    assert 'value="Viewers"' in body and "Save mapping" not in body
    assert admin.ok(admin.get("/mappings", role_key="share")) == []


def test_a_refused_mapping_names_the_field(console: Console, reeport: Reeport) -> None:
    missing = console.post("/console/mappings/preview", data={"role_key": "reporting/view"})
    assert missing.status_code == 422
    assert 'id="group.value-error"' in missing.get_data(as_text=True)
    at_nowhere = console.post(
        "/console/mappings/preview",
        data={
            "group.kind": "displayName",
            "group.value": "Editors",
            "role_key": "reporting/view",
            "scope_id": "nope",
        },
    )
    assert at_nowhere.status_code == 422
    assert 'id="scope_id-error"' in at_nowhere.get_data(as_text=True)


def test_deleting_a_mapping_shows_who_loses_access_first(
    console: Console, reeport: Reeport, admin: Admin
) -> None:
    shown = console.post(f"/console/mappings/{reeport.editors_mapping}/delete")
    assert shown.status_code == 200
    preview = text(shown.get_data(as_text=True).split('id="preview"')[1].split("</section>")[0])
    assert "What deleting this mapping would do" in preview
    assert "bob@reeport.example lost reporting/edit granted -> none" in preview
    assert len(admin.ok(admin.get("/mappings"))) == 2  # nothing deleted yet

    preview_id = re.search(r'name="preview_id" value="([^"]+)"', shown.get_data(as_text=True))
    assert preview_id
    deleted = console.post("/console/mappings/apply", data={"preview_id": preview_id.group(1)})
    assert deleted.status_code == 303
    assert [m["id"] for m in admin.ok(admin.get("/mappings"))] == [reeport.viewers_mapping]
    assert "edit" not in admin.at("bob@reeport.example", reeport.folder_2)


def test_another_tenant_s_mapping_and_preview_are_not_found(
    console: Console, reeport: Reeport, globex: Globex, client: FlaskClient
) -> None:
    assert console.post(f"/console/mappings/{globex.mapping}/delete").status_code == 404
    foreign = console.post("/console/mappings/apply", data={"preview_id": globex.preview})
    assert foreign.status_code == 404
    assert "Globex" not in foreign.get_data(as_text=True)
    theirs = Admin(client, globex.keys).ok(Admin(client, globex.keys).get("/mappings"))
    assert [m["role_key"] for m in theirs] == ["view"]  # untouched


# -- assignments and conflicts ---------------------------------------------------------


def test_direct_assignments_are_listed_and_a_user_s_derived_ones_too(
    console: Console, reeport: Reeport, globex: Globex
) -> None:
    page = console.get("/console/assignments").get_data(as_text=True)
    row = text(
        page.split(f'data-assignment-id="{reeport.cat_views_folder_1}"')[1].split("</tr>")[0]
    )
    assert "cat@reeport.example View reporting/view Reeport Org > Folder 1" in row
    assert "spy@globex.example" not in page

    cat = text(console.get("/console/assignments?user=cat@reeport.example").get_data(as_text=True))
    assert (
        f"Edit reporting/edit Reeport Org > Folder 2 derived mapping {reeport.editors_mapping}"
        in cat
    )
    assert "View reporting/view Reeport Org > Folder 1 direct admin" in cat


def test_another_tenant_s_user_is_not_found_among_assignments(
    console: Console, reeport: Reeport, globex: Globex
) -> None:
    for path in ("/console/assignments", "/console/conflicts"):
        refused = console.get(path, query_string={"user": "spy@globex.example"})
        assert refused.status_code == 404
        assert 'id="user-error"' in refused.get_data(as_text=True)


def test_an_account_conflict_shows_both_origins_side_by_side(
    console: Console, admin: Admin, directory: Directory
) -> None:
    admin.load("reporting")
    admin.ok(admin.post("/roles", {"key": "member", "name": "Member", "product": "reporting",
                                   "grants": {"view": "granted"}}), 201)  # fmt: skip
    customer = admin.scope("account", "Customer Co", None, "customer")
    producer = admin.scope("account", "Producer Co", None, "producer")
    dana = directory.user("dana@example.com")
    directory.group("Customers", users=[dana])
    directory.group("Producers", users=[dana])
    first = admin.map("Customers", "member", customer, assign_account=True)
    second = admin.map("Producers", "member", producer, assign_account=True)

    page = console.get("/console/conflicts").get_data(as_text=True)
    row = text(page.split("<tbody>")[1].split("</tr>")[0])
    assert "dana@example.com mixed_account_types" in row
    assert f"Producer Co from mapping {second} through group Producers" in row
    assert f"Customer Co from mapping {first} through group Customers" in row


def test_a_delete_the_brake_holds_is_applied_only_when_confirmed(
    console: Console, reeport: Reeport, admin: Admin
) -> None:
    admin.ok(
        admin.put("/settings/permissions", {"revocation_brake": {"max_users": 1, "max_share": 0.1}})
    )
    shown = console.post(f"/console/mappings/{reeport.editors_mapping}/delete")
    preview_id = re.search(r'name="preview_id" value="([^"]+)"', shown.get_data(as_text=True))
    assert preview_id
    held = console.post("/console/mappings/apply", data={"preview_id": preview_id.group(1)})
    assert held.status_code == 409
    page = held.get_data(as_text=True)
    assert 'id="confirm-error"' in page and "takes access from 2 of 5 active users" in page
    assert len(admin.ok(admin.get("/mappings"))) == 2  # held: nothing deleted

    confirmed = console.post(
        "/console/mappings/apply", data={"preview_id": preview_id.group(1), "confirm": "true"}
    )
    assert confirmed.status_code == 303
    assert [m["id"] for m in admin.ok(admin.get("/mappings"))] == [reeport.viewers_mapping]


def test_the_model_and_user_names_are_read_for_one_tenant_only(
    runtime: Runtime, reeport: Reeport, globex: Globex, tenant: TenantKeys
) -> None:
    model = read_model(runtime.unit_of_work(), tenant.id)
    assert {s.name for s in model.tree} == {
        "Reeport Org", "Folder 1", "Folder 2", "Report 1", "Report 2",
    }  # fmt: skip
    ids = [reeport.users["ann"], globex.user]
    assert user_names(runtime.unit_of_work(), tenant.id, ids) == {
        reeport.users["ann"]: "ann@reeport.example"
    }


def test_a_page_number_that_is_not_one_is_refused_naming_page(console: Console) -> None:
    for asked in ("0", "abc", "99999999999", "²"):
        refused = console.get(f"/console/assignments?page={asked}")
        assert refused.status_code == 422
        assert "(page)" in refused.get_data(as_text=True)
