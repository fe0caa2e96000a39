"""A tenant built on the live server that exercises every decision rule: levels of
several ranks, a grant inherited at a lower level (inherited_level), fences (seed 001's
accounts under an organization), one area key in two products, a deprovisioned user."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.live_server import LiveServer, Tenant

ENTITLEMENTS = "licensing-portal/end_user_portal.entitlements"


@dataclass
class World:
    tenant: Tenant
    users: dict[str, str] = field(default_factory=dict)  # name -> SCIM id
    scopes: dict[str, str] = field(default_factory=dict)  # name -> scope id


def build_world(server: LiveServer) -> World:
    tenant = Tenant(server)
    world = World(tenant)
    for catalog in ("reporting", "data-platform", "licensing-portal"):
        tenant.load(catalog)
    s = world.scopes

    # Seed 003's reporting tool, and a second product with an area keyed `edit` too.
    s["org"] = tenant.scope("organization", "Parity Org")
    s["folder"] = tenant.scope("folder", "Parity Folder", s["org"])
    s["report"] = tenant.scope("report", "Parity Report", s["folder"])
    s["other_folder"] = tenant.scope("folder", "Other Folder", s["org"])
    tenant.admin("POST", "/products", {"key": "wiki", "name": "Wiki"})
    tenant.admin("POST", "/areas", {"product": "wiki", "key": "edit", "name": "Edit"})
    tenant.admin(
        "POST",
        "/roles",
        {
            "product": "wiki",
            "key": "editor",
            "name": "Editor",
            "grants": {"edit": "granted"},
            "allowed_scope_types": ["organization", "folder"],
            "reaches_descendants": True,
        },
    )

    # Seed 004's data platform: at the root workspace the local administrator role
    # grants data_dictionary "View, manage, and delete", the reaching one "View and manage".
    s["root_ws"] = tenant.scope("workspace", "Root WS")
    s["child_ws"] = tenant.scope("workspace", "Child WS", s["root_ws"])
    s["grandchild_ws"] = tenant.scope("workspace", "Grandchild WS", s["child_ws"])

    # Seed 001's Acme accounts under an organization, and a role granted above them.
    s["holdings"] = tenant.scope("organization", "Acme Holdings")
    s["na"] = tenant.scope("account", "Acme North America", s["holdings"], "customer")
    s["east"] = tenant.scope("account", "Acme East", s["na"], "customer")
    s["ma"] = tenant.scope("account", "Acme Massachusetts", s["east"], "customer")
    s["boston"] = tenant.scope("account", "Acme Boston", s["ma"], "customer")
    s["ny"] = tenant.scope("account", "Acme New York", s["east"], "customer")
    s["special"] = tenant.scope("account", "Special Operations", s["holdings"], "customer")
    tenant.admin(
        "POST",
        "/roles",
        {
            "product": "licensing-portal",
            "key": "support_desk",
            "name": "Support desk",
            "grants": {"end_user_portal.entitlements": "view"},
            "allowed_scope_types": ["organization"],
            "reaches_descendants": True,
        },
    )

    u = world.users
    u["alice"] = tenant.user("alice@parity.example", external_id="ext-alice")
    u["bob"] = tenant.user("bob@parity.example")
    u["carol"] = tenant.user("carol@parity.example", user_type="Customer")
    u["dave"] = tenant.user("dave@parity.example")
    u["erin"] = tenant.user("erin@parity.example")

    tenant.map("Parity Editors", "edit", s["folder"], product="reporting")
    tenant.map("Wiki Editors", "editor", s["org"], product="wiki")
    tenant.group("Parity Editors", u["alice"], u["erin"])
    tenant.group("Wiki Editors", u["alice"])

    tenant.map("DP Admins", "administrator_in_root_workspace", s["root_ws"])
    tenant.map("DP Admins", "administrator", s["root_ws"])
    tenant.map("DP Viewers", "viewer", s["child_ws"])
    tenant.group("DP Admins", u["bob"])
    tenant.group("DP Viewers", u["alice"])

    for account in ("boston", "special"):
        tenant.assign(u["carol"], "portal_user", s[account], assign_account=True)
    tenant.assign(u["carol"], "support_desk", s["holdings"])

    tenant.deactivate(u["erin"])
    return world
