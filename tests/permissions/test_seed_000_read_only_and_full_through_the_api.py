"""Seed 000 end to end: read-only and full variants, and the separate Reporting API."""

from __future__ import annotations

import pytest

from tests.permissions.conftest import Admin, Directory


@pytest.fixture
def product(admin: Admin, directory: Directory) -> str:
    plan = admin.load("usage-analytics")
    assert plan["declare_scope_types"] == ["product"]
    org = admin.scope("organization", "Org")
    app = admin.scope("product", "Our App", org)
    for name in ("ro", "full", "api"):
        directory.user(f"{name}@example.com")
    admin.assign("ro@example.com", "billing_read_only", app)
    admin.assign("full@example.com", "billing", org)
    admin.assign("api@example.com", "reporting_api", app)
    return app


def test_read_only_allows_viewing_but_not_changing(admin: Admin, product: str) -> None:
    assert admin.at("ro@example.com", product) == {"billing": "read_only"}
    why_not = admin.explain("ro@example.com", "billing", "full", product)
    assert why_not["outcome"] == "level_too_low"
    assert why_not["effective_level"] == "read_only"


def test_full_implies_read_only_and_holds_in_the_products_below(admin: Admin, product: str) -> None:
    assert admin.at("full@example.com", product) == {"billing": "full"}
    assert admin.explain("full@example.com", "billing", "read_only", product)["allowed"] is True


def test_the_reporting_api_is_separate_from_reporting_in_the_dashboard(
    admin: Admin, product: str
) -> None:
    assert admin.at("api@example.com", product) == {"reporting_api": "granted"}
