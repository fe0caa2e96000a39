"""Where an invitation invites to (service.domain.invitations.invited_grant): seed 003's
reporting rights at organization, folder and report, and seed 001's accounts."""

from __future__ import annotations

import pytest

from service.domain import Catalog, Role, Scope, ScopeTree, ValidationFailed
from service.domain.invitations import InvitedGrant, default_role_for, invited_grant


@pytest.fixture
def tree() -> ScopeTree:
    return ScopeTree(
        [
            Scope("org", "organization", "Reeport Org"),
            Scope("folder-1", "folder", "Folder 1", "org"),
            Scope("report-1", "report", "Report 1", "folder-1"),
        ]
    )


def where(
    catalog: Catalog,
    tree: ScopeTree,
    scope_id: str | None,
    role_key: str | None,
    *,
    no_default: bool = False,
) -> InvitedGrant | None:
    return invited_grant(
        scope_id,
        role_key,
        default_role_key=None if no_default else catalog.default_role,
        roles=catalog.roles_by_key,
        tree=tree,
    )


@pytest.mark.parametrize("scope_id", ["org", "folder-1", "report-1"])
def test_an_invitation_can_be_at_the_organization_folder_or_report_level(
    reporting: Catalog, tree: ScopeTree, scope_id: str
) -> None:
    """Seed 003: "this can be done at the Organization, Folder, or Report level"."""
    assert where(reporting, tree, scope_id, "edit") == InvitedGrant("edit", scope_id)


def test_view_is_the_default_right_of_an_invitation_that_names_no_role(
    reporting: Catalog, tree: ScopeTree
) -> None:
    """Seed 003: View "is the default access right which applies to any User when
    invited"."""
    assert where(reporting, tree, "folder-1", None) == InvitedGrant("view", "folder-1")


def test_an_invitation_naming_neither_scope_nor_role_grants_nothing(
    reporting: Catalog, tree: ScopeTree
) -> None:
    assert where(reporting, tree, None, None) is None


@pytest.mark.parametrize(
    ("scope_id", "role_key", "no_default", "code", "field"),
    [
        (None, "edit", False, "scope_required", "scope_id"),
        ("folder-1", None, True, "role_required", "role"),
        ("folder-1", "no-such-role", False, "unknown_role", "role"),
        ("no-such-scope", "edit", False, "unknown_scope", "scope_id"),
    ],
)
def test_what_cannot_be_granted_is_refused_naming_the_field(
    reporting: Catalog,
    tree: ScopeTree,
    scope_id: str | None,
    role_key: str | None,
    no_default: bool,
    code: str,
    field: str,
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        where(reporting, tree, scope_id, role_key, no_default=no_default)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_role_is_refused_where_the_role_cannot_be_granted(
    licensing: Catalog, acme_tree: ScopeTree
) -> None:
    """Seed 002's producer roles belong on producer accounts, not at a customer's."""
    with pytest.raises(ValidationFailed) as refused:
        where(licensing, acme_tree, "boston", "order_entry")
    assert (refused.value.code, refused.value.field) == ("scope_type_not_allowed", "scope_id")


def test_an_invitation_to_an_account_makes_the_person_join_it(
    licensing: Catalog, acme_tree: ScopeTree
) -> None:
    """Seed 001: "Each FlexNet Operations user must be linked to at least one account"."""
    assert where(licensing, acme_tree, "boston", "portal_user") == InvitedGrant(
        "portal_user", "boston", assign_account=True
    )


def test_the_default_role_is_the_invitations_products_or_the_one_that_fits_the_scope():
    """Seed 003: View "is the default access right which applies to any User when
    invited", the reporting tool's default; another product's default is another role,
    and an invitation naming no product gets the one default that may be granted there."""
    tree = ScopeTree(
        [Scope("org", "organization", "Org"), Scope("app", "product", "App", "org")], ["product"]
    )
    view = Role(
        "view", "View", allowed_scope_types=frozenset({"organization"}), product="reporting"
    )
    viewer = Role(
        "viewer", "Viewer", allowed_scope_types=frozenset({"organization", "product"}),
        product="usage-analytics",
    )  # fmt: skip
    defaults = {view.ref: view, viewer.ref: viewer}

    assert default_role_for("app", defaults, tree) == "usage-analytics/viewer"
    assert default_role_for("org", defaults, tree, "reporting") == "reporting/view"
    assert default_role_for("org", defaults, tree, "wiki") is None
    with pytest.raises(ValidationFailed) as both:
        default_role_for("org", defaults, tree)
    assert (both.value.code, both.value.field) == ("product_required", "product")
