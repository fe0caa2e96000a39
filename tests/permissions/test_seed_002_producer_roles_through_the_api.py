"""Seed 002 through the API: the licensing portal's seven producer roles, each held by a
producer user at a producer account and read back as an app reads it, compared with the
seed's tables permission by permission; what each role's description says it does; and
what reaches a child account.

The seed's tables are written out below as the seed prints them: a category, then its
permissions (a table's second column continues the category of its row). Names that
differ slightly between roles in the seed ("Create Custom Attributes" and "Create Custom
Attribute", "View Activation Specification Records" with and without "(ASRs)", Product
Manager's "Account Permissions" without a portal) are kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from service.domain import split_ref
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin, Directory

# The seed names categories with an en dash; spelled out so no one "fixes" it to a hyphen.
DASH = "\N{EN DASH}"
SYSTEM_ADMINISTRATION = "System Administration"
FEATURE_BUNDLES = "Operations Feature Bundles"
LICENSE_MODELS = "Operations License Models"
ENTITLEMENTS = f"Operations Entitlements {DASH} Producer Portal"
END_USER = f"Account Permissions {DASH} End-User Portal"
TRUSTED_STORAGE = "Trusted Storage Permissions"
TRUSTED_STORAGE_ACCESS = "Access to Trusted Storage Licensing Functionality in Producer Portal"
USER_MANAGEMENT = "User Management"
FEATURES = "Operations Features"
PRODUCTS = "Operations Products, Suites and Maintenance"
PART_NUMBERS = f"Operations Part Numbers {DASH} Producer Portal"
LICENSE_MANAGEMENT = f"Operations License Management {DASH} Producer Portal"
POLICIES = "Operations Policies"
REPORTING = "Reporting"

# Blocks the seed prints word for word in several roles' tables.
ACCOUNT_PERMISSIONS = (
    "View Entitlements",
    "Return",
    "Repair",
    "Rehost",
    "Generate License",
    "View Licenses",
    "View Devices",
)
SHORT_CODE_AND_MANUAL = (
    "Short Code Activation",
    "Manual Activation",
    "Manual Return and Repair",
    "Short Code Return and Repair",
)
ACTIVATIONS_RETURNS_REPAIRS = (
    "View Activation Specification Records (ASRs)",
    "Manual Activations",
    "Manual Returns",
    "Manual Repairs",
    "Short Code Activations",
    "Short Code Repairs",
    "Short Code Returns",
)
TRANSACTION_KEYS_AND_ASRS = (
    "View Transaction Keys",
    "Create Transaction Keys",
    "Delete Transaction Keys",
    "View Activation Specification Records (ASRs)",
    "Create Local Trial ASRs",
    "Delete Local Trial ASRs",
    "Create Short Code ASRs",
    "Delete Short Code ASRs",
)
LICENSES = (
    "View Licenses",
    "Return Licenses",
    "Rehost Licenses",
    "Repair Licenses",
    "Correct Publisher Error",
    "Stop Gap Renewal",
    "Generate Emergency Licenses",
    "Generate Licenses",
    "Email Licenses",
)
FEATURE_BUNDLES_ALL = (
    "Delete Feature Bundles",
    "Create Feature Bundles",
    "View Feature Bundles",
    "Change Feature Bundle State",
    "Update Feature Bundles",
)
LICENSE_MODELS_ALL = (
    "Update License Models",
    "Delete License Models",
    "Change License Model State",
    "Create License Models",
    "View License Models",
)
FEATURES_ALL = (
    "Delete Features",
    "Create Features",
    "View Features",
    "Change Feature State",
    "Update Features",
    "Set Feature Override",
)
PRODUCTS_ALL = (
    "View Products, Suites and Maintenance",
    "Update Products, Suites and Maintenance",
    "Change Products, Suites and Maintenance State",
    "Delete Products, Suites and Maintenance",
    "Create Products, Suites and Maintenance",
    "Delete File Images",
    "Download File Images",
    "Deliver to Account",
    "View & Manage Download Packages",
)
# The rows every one of the seven tables ends with.
USAGE_GROWTH_UPDATES = {
    "Usage": ("View Usage", "Edit Usage"),
    "Customer Growth": ("Manage and View Customer Growth",),
    "Updates": ("Manage and view Updates",),
}
VIEW_BUNDLES_AND_MODELS = {
    FEATURE_BUNDLES: ("View Feature Bundles",),
    LICENSE_MODELS: ("View License Models",),
}

SEED_002: dict[str, dict[str, tuple[str, ...]]] = {
    "Customer Support Representative": {
        **VIEW_BUNDLES_AND_MODELS,
        ENTITLEMENTS: ("View Entitlements", "Change Entitlement State", "Update Entitlements"),
        f"Account Permissions {DASH} Producer Portal": ACCOUNT_PERMISSIONS,
        TRUSTED_STORAGE: SHORT_CODE_AND_MANUAL,
        TRUSTED_STORAGE_ACCESS: ACTIVATIONS_RETURNS_REPAIRS,
        USER_MANAGEMENT: ("View As End User",),
        "Account Management": ("View Accounts",),
        FEATURES: ("View Features",),
        PRODUCTS: ("View Products, Suites and Maintenance", "Download File Images"),
        LICENSE_MANAGEMENT: LICENSES,
        **USAGE_GROWTH_UPDATES,
    },
    "Executive": {
        **VIEW_BUNDLES_AND_MODELS,
        ENTITLEMENTS: ("View Entitlements",),
        END_USER: ("View Entitlements", "View Licenses", "View Devices"),
        TRUSTED_STORAGE_ACCESS: (
            "View Transaction Keys",
            "View Activation Specification Records",
        ),
        "Account Management": ("View Accounts",),
        FEATURES: ("View Features",),
        PRODUCTS: ("View Products, Suites and Maintenance",),
        LICENSE_MANAGEMENT: ("View Licenses",),
        **USAGE_GROWTH_UPDATES,
    },
    "IT Back Office Manager": {
        SYSTEM_ADMINISTRATION: ("View System Information", "View and Manage Configurations"),
        **VIEW_BUNDLES_AND_MODELS,
        ENTITLEMENTS: ("View Entitlements", "Edit Unsent Emails", "Queue Email"),
        END_USER: ("View Entitlements", "View Licenses", "View Devices"),
        TRUSTED_STORAGE_ACCESS: ("View Activation Specification Records (ASRs)",),
        USER_MANAGEMENT: ("View Users", "View As End User"),
        "Account Management": ("View Accounts",),
        FEATURES: ("View Features",),
        PRODUCTS: (
            "View Products, Suites and Maintenance",
            "Delete File Images",
            "Download File Images",
            "Deliver to Account",
            "View & Manage Download Packages",
        ),
        LICENSE_MANAGEMENT: ("View Licenses",),
        **USAGE_GROWTH_UPDATES,
    },
    "Order Entry": {
        **VIEW_BUNDLES_AND_MODELS,
        ENTITLEMENTS: (
            "View Entitlements",
            "Change Entitlement State",
            "Update Entitlements",
            "Create Entitlements",
            "Upsell Entitlements",
            "Upgrade Entitlements",
            "Renew Entitlements",
        ),
        END_USER: ACCOUNT_PERMISSIONS,
        TRUSTED_STORAGE: SHORT_CODE_AND_MANUAL,
        TRUSTED_STORAGE_ACCESS: ACTIVATIONS_RETURNS_REPAIRS,
        USER_MANAGEMENT: ("View As End User",),
        "Account Management": ("View Accounts",),
        FEATURES: ("View Features",),
        PRODUCTS: ("View Products, Suites and Maintenance",),
        LICENSE_MANAGEMENT: LICENSES,
        **USAGE_GROWTH_UPDATES,
    },
    "Product Manager": {
        SYSTEM_ADMINISTRATION: (
            "View and Manage HTML Content",
            "View and Manage Email Templates",
            "Create Custom Attributes",
        ),
        FEATURE_BUNDLES: FEATURE_BUNDLES_ALL,
        LICENSE_MODELS: LICENSE_MODELS_ALL,
        ENTITLEMENTS: ("View Entitlements", "Edit Unsent Emails"),
        "Account Permissions": (
            "View Entitlements",
            "View Licenses",
            "View Devices",
            "Create Email Notifications",
            "Queue Email",
            "Create Ad-hoc Emails",
        ),
        TRUSTED_STORAGE_ACCESS: TRANSACTION_KEYS_AND_ASRS,
        "Account Management": ("View Accounts",),
        FEATURES: FEATURES_ALL,
        PRODUCTS: PRODUCTS_ALL,
        PART_NUMBERS: ("Create Part Numbers",),
        LICENSE_MANAGEMENT: ("View Licenses",),
        REPORTING: ("Create and Edit Reports", "View Reports"),
        **USAGE_GROWTH_UPDATES,
    },
    "Sales Operations Manager": {
        SYSTEM_ADMINISTRATION: ("View and Manage Email Templates",),
        **VIEW_BUNDLES_AND_MODELS,
        ENTITLEMENTS: (
            "View Entitlements",
            "Change Entitlement State",
            "Update Entitlements",
            "Delete Entitlements",
            "Create Entitlements",
            "Edit Unsent Emails",
            "Create Email Notifications",
            "Queue Email",
            "Create Ad-hoc Emails",
        ),
        END_USER: ACCOUNT_PERMISSIONS,
        TRUSTED_STORAGE: SHORT_CODE_AND_MANUAL,
        TRUSTED_STORAGE_ACCESS: ACTIVATIONS_RETURNS_REPAIRS,
        USER_MANAGEMENT: ("View As End User",),
        "Account Management": ("View Accounts",),
        FEATURES: ("View Features",),
        PRODUCTS: ("View Products, Suites and Maintenance",),
        LICENSE_MANAGEMENT: LICENSES,
        POLICIES: ("Override Policies",),
        **USAGE_GROWTH_UPDATES,
    },
    "System Administrator": {
        "Alert Management": (
            "View and Subscribe Alerts",
            "View and Manage Alert Configurations",
        ),
        SYSTEM_ADMINISTRATION: (
            "View System Information",
            "View and Manage Configurations",
            "Merge Entitlements from Self-Registered Account to Customer Account",
            "View and Manage HTML Content",
            "View and Manage Email Templates",
            "Create Custom Attribute",
        ),
        FEATURE_BUNDLES: FEATURE_BUNDLES_ALL,
        LICENSE_MODELS: LICENSE_MODELS_ALL,
        ENTITLEMENTS: (
            "View Entitlements",
            "Change Entitlement State",
            "Update Entitlements",
            "Delete Entitlements",
            "Create Entitlements",
            "Upsell Entitlements",
            "Upgrade Entitlements",
            "Renew Entitlements",
            "Edit Sent Emails",
            "Edit Unsent Emails",
            "Create Email Notifications",
            "Queue Email",
            "Create Ad-hoc Emails",
        ),
        END_USER: (
            *ACCOUNT_PERMISSIONS,
            "View Expiring Entitlements",
            "Transfer Line Items",
        ),
        TRUSTED_STORAGE: SHORT_CODE_AND_MANUAL,
        TRUSTED_STORAGE_ACCESS: (
            *TRANSACTION_KEYS_AND_ASRS,
            "Manual Activations",
            "Manual Returns",
            "Manual Repairs",
            "Short Code Activations",
            "Short Code Repairs",
            "Short Code Returns",
        ),
        "License Technologies": ("License Technologies",),
        "Child Account Permissions": (
            "View Child Line Items",
            "Return Child Fulfillments",
            "Rehost Child Fulfillments",
            "Upgrade Child Fulfillments",
            "Renew Child Fulfillments",
            "Transfer Child Fulfillments",
            "View Child Licenses",
            "Generate License for Child Line Items",
            "Repair Child Fulfillments",
            "View Child Devices",
            "View Child Accounts",
            "Manage Child Accounts",
            "View Child Users",
            "Manage Child Users",
        ),
        USER_MANAGEMENT: (
            "View Users",
            "View and Manage Users",
            "View Roles",
            "View and Manage Roles",
            "View Logged-In Users",
            "View Domains",
            "View and Manage Domains",
            "View As End User",
        ),
        "Account Management": ("View Accounts", "View and Manage Accounts"),
        FEATURES: FEATURES_ALL,
        PRODUCTS: (*PRODUCTS_ALL, "Assign Product Lines"),
        PART_NUMBERS: ("Create Part Numbers",),
        LICENSE_MANAGEMENT: LICENSES,
        POLICIES: ("Override Policies",),
        "Operations Web Services": ("Execute Web Services",),
        "Operations Export Import": ("Export and Import",),
        REPORTING: ("Create and Edit Reports", "View Reports"),
        "FlexNet Embedded": ("Manage Devices", "Manage Publisher Identities"),
        **USAGE_GROWTH_UPDATES,
    },
}
Permission = tuple[str, str]


def listed(role: str) -> set[Permission]:
    """The (category, permission) pairs of a role's table in the seed."""
    return {(category, name) for category, names in SEED_002[role].items() for name in names}


@dataclass
class Vendor:
    """A producer account with a child account below it, and the portal's role keys."""

    account: str
    child: str
    role_keys: dict[str, str]
    area_names: dict[str, Permission]


@pytest.fixture
def vendor(admin: Admin) -> Vendor:
    admin.load("licensing-portal")
    account = admin.scope("account", "Vendor", None, "producer")
    child = admin.scope("account", "Vendor EU", account, "producer")
    roles = admin.ok(admin.get("/roles", product="licensing-portal", page_size=100))
    areas = admin.ok(admin.get("/areas", product="licensing-portal", page_size=500))
    return Vendor(
        account,
        child,
        {r["name"]: r["key"] for r in roles},
        {f"licensing-portal/{a['key']}": (a["category"], a["name"]) for a in areas},
    )


def holder(admin: Admin, directory: Directory, vendor: Vendor, role: str) -> str:
    """A producer user who holds ``role`` at the vendor's account and belongs to it."""
    user = f"{vendor.role_keys[role]}@vendor.example"
    directory.user(user, user_type="Producer Users")
    admin.assign(user, vendor.role_keys[role], vendor.account, assign_account=True)
    return user


def read(client: FlaskClient, tenant: TenantKeys, vendor: Vendor, user: str, scope: str):
    """What an app reads with a read token at ``scope``: each permission by the seed's
    (category, name), with its level."""
    response = client.get(
        f"/api/v1/users/{user}/permissions",
        headers=tenant.auth("read"),
        query_string={"scope": scope},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    held = response.json["at_scope"]["areas"]
    assert {split_ref(ref)[0] for ref in held} <= {"licensing-portal"}
    return {vendor.area_names[ref]: level for ref, level in held.items()}


def test_these_seven_producer_user_roles_are_available(admin: Admin, vendor: Vendor) -> None:
    """Seed 002: "These FlexNet Operations producer user roles are available: Customer
    Support Representative, Executive, IT Back Office Manager, Order Entry, Product
    Manager, Sales Operations Manager, and System Administrator." The roles grantable at
    a producer account are these seven, by the seed's names."""
    roles = admin.ok(admin.get("/roles", product="licensing-portal", page_size=100))

    producer_roles = {r["name"] for r in roles if r["allowed_account_types"] == ["producer"]}

    assert producer_roles == set(SEED_002)


@pytest.mark.parametrize("role", list(SEED_002))
def test_each_producer_role_holds_exactly_the_permissions_of_its_table(
    admin: Admin,
    directory: Directory,
    client: FlaskClient,
    tenant: TenantKeys,
    vendor: Vendor,
    role: str,
) -> None:
    """Seed 002, each role's table: "Customer Support Representative Permissions",
    "Executive Permissions", "IT Back Office Manager Permissions", "Order Entry
    Permissions", "Product Manager Permissions", "Sales Operations Manager Permissions",
    "System Administrator Permissions are:". A producer user holding the role at a
    producer account reads every permission its table lists, each on, and no other."""
    user = holder(admin, directory, vendor, role)

    held = read(client, tenant, vendor, user, vendor.account)

    assert set(held) == listed(role)
    assert set(held.values()) == {"granted"}


# What each description says the role does, by permissions its table lists.
DESCRIBED = {
    "Customer Support Representative": (
        '"The Customer Support Representative processes activation requests and provides '
        "post-activation support for licenses, such as processing license returns and "
        'repairs."',
        {
            (TRUSTED_STORAGE_ACCESS, "Manual Activations"),
            (TRUSTED_STORAGE_ACCESS, "Short Code Activations"),
            (TRUSTED_STORAGE, "Manual Activation"),
            (LICENSE_MANAGEMENT, "Return Licenses"),
            (LICENSE_MANAGEMENT, "Repair Licenses"),
        },
    ),
    "Executive": (
        '"The Executive role is for upper management personnel who want to view product '
        'definitions, associated license models, and existing entitlements."',
        {
            (FEATURES, "View Features"),
            (FEATURE_BUNDLES, "View Feature Bundles"),
            (PRODUCTS, "View Products, Suites and Maintenance"),
            (LICENSE_MODELS, "View License Models"),
            (ENTITLEMENTS, "View Entitlements"),
        },
    ),
    "Order Entry": (
        '"Order Entry personnel convert order information into entitlements and '
        'fulfillments. They can also provide post-fulfillment support."',
        {
            (ENTITLEMENTS, "Create Entitlements"),
            (LICENSE_MANAGEMENT, "Generate Licenses"),
            (LICENSE_MANAGEMENT, "Return Licenses"),
            (LICENSE_MANAGEMENT, "Rehost Licenses"),
            (LICENSE_MANAGEMENT, "Repair Licenses"),
        },
    ),
    "Product Manager": (
        '"The Product Manager is responsible for defining and packaging products."',
        {
            (FEATURES, "Create Features"),
            (FEATURE_BUNDLES, "Create Feature Bundles"),
            (PRODUCTS, "Create Products, Suites and Maintenance"),
            (LICENSE_MODELS, "Create License Models"),
            (PART_NUMBERS, "Create Part Numbers"),
        },
    ),
}


@pytest.mark.parametrize("role", list(DESCRIBED))
def test_what_a_role_s_description_says_it_does_its_holder_may_do(
    admin: Admin,
    directory: Directory,
    client: FlaskClient,
    tenant: TenantKeys,
    vendor: Vendor,
    role: str,
) -> None:
    """Seed 002, the descriptions (each case quotes its own in DESCRIBED):
    "The Customer Support Representative processes activation requests and provides
    post-activation support for licenses, such as processing license returns and
    repairs."; "The Executive role is for upper management personnel who want to view
    product definitions, associated license models, and existing entitlements.";
    "Order Entry personnel convert order information into entitlements and fulfillments.
    They can also provide post-fulfillment support."; "The Product Manager is responsible
    for defining and packaging products." An app checking the permissions that do what
    the description says gets yes for the role's holder."""
    user = holder(admin, directory, vendor, role)
    by_name = {permission: ref for ref, permission in vendor.area_names.items()}
    asked = sorted(DESCRIBED[role][1])

    response = client.post(
        "/api/v1/check",
        json={
            "checks": [
                {"user": user, "area": by_name[p], "level": "granted", "scope": vendor.account}
                for p in asked
            ]
        },
        headers=tenant.auth("read"),
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert {p: r["allowed"] for p, r in zip(asked, response.json["results"], strict=True)} == {
        p: True for p in asked
    }


def test_the_executive_views_product_definitions_license_models_and_entitlements_only(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys, vendor: Vendor
) -> None:
    """Seed 002: "The Executive role is for upper management personnel who want to view
    product definitions, associated license models, and existing entitlements." In the
    categories of products, features, license models and entitlements, the Executive
    holds permissions to view and nothing that creates, changes or deletes, which other
    roles hold there."""
    described = {FEATURES, FEATURE_BUNDLES, PRODUCTS, LICENSE_MODELS, ENTITLEMENTS, END_USER}
    user = holder(admin, directory, vendor, "Executive")

    held = {p for p in read(client, tenant, vendor, user, vendor.account) if p[0] in described}
    not_held = {p for p in vendor.area_names.values() if p[0] in described} - held

    assert held and all(name.startswith("View") for _, name in held)
    assert {name.split()[0] for _, name in not_held} >= {"Create", "Update", "Delete"}


def test_the_sales_operations_manager_has_every_fulfillment_permission_and_its_entitlements(
    admin: Admin, directory: Directory, client: FlaskClient, tenant: TenantKeys, vendor: Vendor
) -> None:
    """Seed 002: "The Sales Operations Manager is a supervisory role above Order Entry
    personnel and Customer Support Representatives. The Sales Operations Manager has
    complete entitlement and fulfillment permissions." Fulfillment: the Sales Operations
    Manager holds every license management permission any producer role holds. Entitlements:
    every one the Customer Support Representative and Order Entry hold, except the three
    Order Entry's table lists and the Sales Operations Manager's does not (the seed's tables
    are what rolecall follows; SEEDS.md says where this sentence and the tables differ)."""
    user = holder(admin, directory, vendor, "Sales Operations Manager")
    held = set(read(client, tenant, vendor, user, vendor.account))

    def every(category: str, *roles: str) -> set[Permission]:
        return {p for role in roles for p in listed(role) if p[0] == category}

    assert every(LICENSE_MANAGEMENT, *SEED_002) <= held
    below = every(ENTITLEMENTS, "Customer Support Representative", "Order Entry")
    assert below - held == {
        (ENTITLEMENTS, "Upsell Entitlements"),
        (ENTITLEMENTS, "Upgrade Entitlements"),
        (ENTITLEMENTS, "Renew Entitlements"),
    }


@pytest.mark.parametrize("role", list(SEED_002))
def test_only_the_system_administrator_holds_its_permissions_in_a_child_account(
    admin: Admin,
    directory: Directory,
    client: FlaskClient,
    tenant: TenantKeys,
    vendor: Vendor,
    role: str,
) -> None:
    """Seed 002: only the System Administrator's table has "Child Account Permissions View
    Child Line Items ... View Child Accounts Manage Child Accounts View Child Users Manage
    Child Users" (what a role may do below its own account). Held at the vendor's account,
    the System Administrator's permissions hold in its child account too; every other
    producer role's stop at the account it is held at."""
    user = holder(admin, directory, vendor, role)

    below = read(client, tenant, vendor, user, vendor.child)

    assert set(below) == (listed(role) if role == "System Administrator" else set())
