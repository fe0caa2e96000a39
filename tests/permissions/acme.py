"""Seed 001's Acme account hierarchy, built through the admin API, for every test that
reasons about it (the seed's own tests and the questions asked over it)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.permissions.conftest import Admin

ENTITLEMENTS = "end_user_portal.entitlements"


@dataclass
class Acme:
    na: str
    east: str
    ma: str
    boston: str
    ny: str
    special: str


def build_acme(admin: Admin) -> Acme:
    """The seed's hierarchy (see tests/unit/domain/conftest.py for how it is read):
    Acme North America > Acme East > {Acme Massachusetts > Acme Boston, Acme New York},
    and Special Operations beside them, all customer accounts."""
    admin.load("licensing-portal")
    na = admin.scope("account", "Acme North America", None, "customer")
    east = admin.scope("account", "Acme East", na, "customer")
    ma = admin.scope("account", "Acme Massachusetts", east, "customer")
    boston = admin.scope("account", "Acme Boston", ma, "customer")
    ny = admin.scope("account", "Acme New York", east, "customer")
    special = admin.scope("account", "Special Operations", None, "customer")
    return Acme(na, east, ma, boston, ny, special)
