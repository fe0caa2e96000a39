"""Shared builders for the domain tests: small trees and the shipped catalogs."""

from __future__ import annotations

import pytest

from service.catalogs import load
from service.domain import AccountType, Catalog, Scope, ScopeTree

CUSTOMER = AccountType.CUSTOMER


@pytest.fixture
def acme_tree() -> ScopeTree:
    """Seed 001's example hierarchy.

    The seed's diagram is not in the text; what the text says fixes this much:
    Boston is under Massachusetts, under East, under North America; User A, an
    administrator at Massachusetts, also sees New York, so New York is a second
    account of User A's beside Massachusetts (under Acme East); Special
    Operations is not a sub-account of North America, so it is a root.
    """
    return ScopeTree(
        [
            Scope("na", "account", "Acme North America", None, CUSTOMER),
            Scope("east", "account", "Acme East", "na", CUSTOMER),
            Scope("ma", "account", "Acme Massachusetts", "east", CUSTOMER),
            Scope("boston", "account", "Acme Boston", "ma", CUSTOMER),
            Scope("ny", "account", "Acme New York", "east", CUSTOMER),
            Scope("special", "account", "Special Operations", None, CUSTOMER),
            Scope("reseller", "account", "Acme Reseller", None, AccountType.PARTNER),
            Scope("vendor", "account", "Vendor Inc", None, AccountType.PRODUCER),
        ]
    )


@pytest.fixture(scope="session")
def licensing() -> Catalog:
    return load("licensing-portal")


@pytest.fixture(scope="session")
def reporting() -> Catalog:
    return load("reporting")


@pytest.fixture(scope="session")
def data_platform() -> Catalog:
    return load("data-platform")


@pytest.fixture(scope="session")
def usage_analytics() -> Catalog:
    return load("usage-analytics")
