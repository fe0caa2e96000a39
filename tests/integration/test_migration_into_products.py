"""Migration 0012 moves every tenant's model into one product without losing a grant.

A tenant as it stood at 0011 (areas, roles, a default role, a mapping, a direct
assignment, a user in a group) is written with the 0011 schema, the database is
upgraded to head, and the same users are computed by the service's own code: every
grant holds, now named by the product the areas and roles moved into. Runs on the
database the suite runs on (PostgreSQL in CI), in a database of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.persistence import schema
from service.services import effective
from service.services.permission_model import load_model
from service.settings import Settings

NOW = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture
def fresh_engine(settings: Settings, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """An empty database of the suite's kind, dropped afterwards."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield engine
        engine.dispose()
        return
    name = f"{url.database}_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}"'))
        admin.dispose()


def _table(name: str, *columns: str, json: tuple[str, ...] = (), times: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return sa.table(
        name,
        *(sa.column(c) for c in columns),
        *(sa.column(c, sa.JSON) for c in json),
        *(sa.column(c, sa.DateTime(timezone=True)) for c in times),
    )


def _tenant_at_0011(connection: sa.Connection, tenant: str) -> dict[str, str]:
    """A licensing tenant as 0011 stored it: what the test later expects to hold."""
    ids = {k: str(uuid.uuid4()) for k in ("org", "viewer", "admin", "user", "group", "other")}
    run = connection.execute
    run(
        _table("tenants", "id", "name", json=("settings",), times=("created_at",)).insert(),
        [{"id": tenant, "name": f"t-{tenant[:8]}", "settings": {}, "created_at": NOW}],
    )
    run(
        _table(
            "permission_scopes",
            "id",
            "tenant_id",
            "type",
            "name",
            "parent_id",
            times=("created_at",),
        ).insert(),
        [
            {
                "id": ids["org"],
                "tenant_id": tenant,
                "type": "organization",
                "name": "Org",
                "parent_id": None,
                "created_at": NOW,
            }
        ],
    )
    run(
        _table(
            "permission_areas",
            "id",
            "tenant_id",
            "key",
            "name",
            "category",
            "description",
            json=("levels",),
            times=("created_at",),
        ).insert(),
        [
            {
                "id": str(uuid.uuid4()),
                "tenant_id": tenant,
                "key": "licenses",
                "name": "Licenses",
                "category": None,
                "description": "",
                "levels": ["view", "manage"],
                "created_at": NOW,
            },
            {
                "id": str(uuid.uuid4()),
                "tenant_id": tenant,
                "key": "billing",
                "name": "Billing",
                "category": None,
                "description": "",
                "levels": ["granted"],
                "created_at": NOW,
            },
        ],
    )
    roles = _table(
        "permission_roles",
        "id",
        "tenant_id",
        "key",
        "name",
        "reaches_descendants",
        "root_only",
        "description",
        json=("grants", "allowed_scope_types", "allowed_account_types"),
        times=("created_at",),
    )
    run(
        roles.insert(),
        [
            {
                "id": ids["viewer"],
                "tenant_id": tenant,
                "key": "viewer",
                "name": "Viewer",
                "grants": {"licenses": "view"},
                "allowed_scope_types": None,
                "allowed_account_types": None,
                "reaches_descendants": True,
                "root_only": False,
                "description": "",
                "created_at": NOW,
            },
            {
                "id": ids["admin"],
                "tenant_id": tenant,
                "key": "admin",
                "name": "Admin",
                "grants": {"licenses": "manage", "billing": "granted"},
                "allowed_scope_types": None,
                "allowed_account_types": None,
                "reaches_descendants": True,
                "root_only": False,
                "description": "",
                "created_at": NOW,
            },
        ],
    )
    run(
        _table("permission_settings", "tenant_id", "default_role_id", "model_version").insert(),
        [{"tenant_id": tenant, "default_role_id": ids["viewer"], "model_version": 3}],
    )
    users = _table(
        "scim_users",
        "id",
        "tenant_id",
        "user_name",
        "user_name_lower",
        "active",
        "version",
        json=("document",),
        times=("created", "last_modified"),
    )
    run(
        users.insert(),
        [
            {
                "id": ids[k],
                "tenant_id": tenant,
                "user_name": f"{k}@example.com",
                "user_name_lower": f"{k}@example.com",
                "active": True,
                "version": 1,
                "document": {},
                "created": NOW,
                "last_modified": NOW,
            }
            for k in ("user", "other")
        ],
    )
    run(
        _table(
            "scim_groups",
            "id",
            "tenant_id",
            "display_name",
            "display_name_lower",
            "version",
            json=("document",),
            times=("created", "last_modified"),
        ).insert(),
        [
            {
                "id": ids["group"],
                "tenant_id": tenant,
                "display_name": "Admins",
                "display_name_lower": "admins",
                "version": 1,
                "document": {},
                "created": NOW,
                "last_modified": NOW,
            }
        ],
    )
    run(
        _table("scim_group_members", "tenant_id", "group_id", "member_id", "member_type").insert(),
        [
            {
                "tenant_id": tenant,
                "group_id": ids["group"],
                "member_id": ids["user"],
                "member_type": "User",
            }
        ],
    )
    run(
        _table(
            "permission_mappings",
            "id",
            "tenant_id",
            "group_kind",
            "group_value",
            "group_value_lower",
            "role_id",
            "scope_id",
            "assign_account",
            "created_by",
            times=("created_at",),
        ).insert(),
        [
            {
                "id": str(uuid.uuid4()),
                "tenant_id": tenant,
                "group_kind": "displayName",
                "group_value": "Admins",
                "group_value_lower": "admins",
                "role_id": ids["admin"],
                "scope_id": ids["org"],
                "assign_account": False,
                "created_by": "test",
                "created_at": NOW,
            }
        ],
    )
    run(
        _table(
            "permission_assignments",
            "id",
            "tenant_id",
            "user_id",
            "role_id",
            "scope_id",
            "assign_account",
            "created_by",
            times=("created_at",),
        ).insert(),
        [
            {
                "id": str(uuid.uuid4()),
                "tenant_id": tenant,
                "user_id": ids["other"],
                "role_id": ids["viewer"],
                "scope_id": ids["org"],
                "assign_account": False,
                "created_by": "test",
                "created_at": NOW,
            }
        ],
    )
    return ids


def test_every_tenant_moves_into_a_default_product_with_its_grants_intact(
    fresh_engine: Engine,
) -> None:
    schema.upgrade(fresh_engine, "0011")
    tenants = [str(uuid.uuid4()), str(uuid.uuid4())]
    with fresh_engine.begin() as connection:
        ids = {t: _tenant_at_0011(connection, t) for t in tenants}

    schema.upgrade(fresh_engine)
    schema.check_models_match(fresh_engine)

    with Session(fresh_engine) as session:
        for tenant in tenants:
            model = load_model(session, tenant, use_cache=False)
            assert list(model.products) == ["default"]
            assert model.default_product == "default"
            assert sorted(model.areas) == ["default/billing", "default/licenses"]
            assert model.default_roles == ("default/viewer",)
            # Grants reference roles by id, and the ids stayed: the mapped admin and
            # the directly assigned viewer hold what they held.
            org = ids[tenant]["org"]
            mapped = effective.compute_user_permissions(session, tenant, ids[tenant]["user"], model)
            direct = effective.compute_user_permissions(
                session, tenant, ids[tenant]["other"], model
            )
            assert mapped.permissions.for_scope(org, model.tree) == {
                "default/billing": "granted",
                "default/licenses": "manage",
            }
            assert direct.permissions.for_scope(org, model.tree) == {"default/licenses": "view"}
