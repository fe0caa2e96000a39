"""Helpers for the permission-model tests: SCIM rows made directly, and an admin client.

Users and groups are inserted with the SCIM models rather than through /scim/v2,
so these tests depend only on the tables the permission engine reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, update
from werkzeug.test import TestResponse

from service.domain import split_ref
from service.persistence.base import new_id, utcnow
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.runtime import Runtime
from tests.conftest import TenantKeys


class Directory:
    """Writes SCIM users, groups and memberships for one tenant, as an IdP would leave them."""

    def __init__(self, runtime: Runtime, tenant_id: str) -> None:
        self.runtime = runtime
        self.tenant_id = tenant_id

    def user(
        self,
        user_name: str,
        *,
        external_id: str | None = None,
        user_type: str | None = None,
        active: bool = True,
    ) -> str:
        uid = new_id()
        now = utcnow()
        with UnitOfWork(self.runtime.sessions) as uow:
            session = uow.session
            session.add(
                ScimUser(
                    id=uid,
                    tenant_id=self.tenant_id,
                    user_name=user_name,
                    user_name_lower=user_name.lower(),
                    external_id=external_id,
                    active=active,
                    user_type=user_type,
                    document={"userName": user_name},
                    created=now,
                    last_modified=now,
                )
            )
        return uid

    def group(
        self,
        display_name: str,
        *,
        external_id: str | None = None,
        users: Iterable[str] = (),
        groups: Iterable[str] = (),
    ) -> str:
        gid = new_id()
        now = utcnow()
        with UnitOfWork(self.runtime.sessions) as uow:
            session = uow.session
            session.add(
                ScimGroup(
                    id=gid,
                    tenant_id=self.tenant_id,
                    display_name=display_name,
                    display_name_lower=display_name.lower(),
                    external_id=external_id,
                    document={"displayName": display_name},
                    created=now,
                    last_modified=now,
                )
            )
        for uid in users:
            self.add(gid, uid)
        for member in groups:
            self.add(gid, member, "Group")
        return gid

    def add(self, group_id: str, member_id: str, member_type: str = "User") -> None:
        with UnitOfWork(self.runtime.sessions) as uow:
            session = uow.session
            session.add(
                ScimGroupMember(
                    tenant_id=self.tenant_id,
                    group_id=group_id,
                    member_id=member_id,
                    member_type=member_type,
                )
            )

    def remove(self, group_id: str, member_id: str) -> None:
        with UnitOfWork(self.runtime.sessions) as uow:
            session = uow.session
            session.execute(
                delete(ScimGroupMember).where(
                    ScimGroupMember.group_id == group_id, ScimGroupMember.member_id == member_id
                )
            )

    def set_active(self, user_id: str, active: bool) -> None:
        with UnitOfWork(self.runtime.sessions) as uow:
            session = uow.session
            session.execute(update(ScimUser).where(ScimUser.id == user_id).values(active=active))

    def delete_user(self, user_id: str) -> None:
        with UnitOfWork(self.runtime.sessions) as uow:
            session = uow.session
            session.execute(delete(ScimGroupMember).where(ScimGroupMember.member_id == user_id))
            session.execute(delete(ScimUser).where(ScimUser.id == user_id))


class Admin:
    """Calls /api/v1 with a tenant's admin token; the helpers assert success."""

    def __init__(self, client: FlaskClient, keys: TenantKeys) -> None:
        self.client = client
        self.keys = keys

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(
            f"/api/v1{path}", headers=self.keys.auth("admin"), query_string=query
        )

    def post(self, path: str, body: Any = None, **query: Any) -> TestResponse:
        return self.client.post(
            f"/api/v1{path}", json=body, headers=self.keys.auth("admin"), query_string=query
        )

    def patch(self, path: str, body: Any, **query: Any) -> TestResponse:
        return self.client.patch(
            f"/api/v1{path}", json=body, headers=self.keys.auth("admin"), query_string=query
        )

    def put(self, path: str, body: Any, **query: Any) -> TestResponse:
        return self.client.put(
            f"/api/v1{path}", json=body, headers=self.keys.auth("admin"), query_string=query
        )

    def delete(self, path: str, **query: Any) -> TestResponse:
        return self.client.delete(
            f"/api/v1{path}", headers=self.keys.auth("admin"), query_string=query
        )

    def ok(self, response: TestResponse, status: int = 200) -> Any:
        assert response.status_code == status, (response.status_code, response.get_data(True))
        return None if status == 204 else response.json

    def load(self, catalog: str) -> dict[str, Any]:
        return self.ok(self.post(f"/catalogs/{catalog}/load", {}))

    def scope(
        self,
        type: str,
        name: str,
        parent: str | None = None,
        account_type: str | None = None,
    ) -> str:
        body = {"type": type, "name": name, "parent_id": parent, "account_type": account_type}
        return self.ok(self.post("/scopes", body), 201)["id"]

    def map(
        self,
        group: str,
        role: str,
        scope: str,
        *,
        kind: str = "displayName",
        assign_account: bool = False,
        product: str | None = None,
    ) -> str:
        body = {
            "group": {"kind": kind, "value": group},
            "role_key": role,
            "scope_id": scope,
            "assign_account": assign_account,
        }
        if product is not None:
            body["product"] = product
        return self.ok(self.post("/mappings", body), 201)["id"]

    def assign(
        self,
        user: str,
        role: str,
        scope: str,
        *,
        assign_account: bool = False,
        product: str | None = None,
    ) -> str:
        body = {"user": user, "role_key": role, "scope_id": scope, "assign_account": assign_account}
        if product is not None:
            body["product"] = product
        return self.ok(self.post("/assignments", body), 201)["id"]

    def permissions(self, user: str, scope: str | None = None) -> dict[str, Any]:
        query = {} if scope is None else {"scope": scope}
        return self.ok(self.get(f"/users/{user}/permissions", **query))

    def at(self, user: str, scope: str, product: str | None = None) -> dict[str, str]:
        """Every area the user holds at ``scope`` (of ``product``, when named), by key,
        with its level (inherited too). The API names areas by ref, product/key; a
        test of one product reads them by key, and two products' areas of one key at
        one scope fail the test rather than hide each other."""
        held = self.permissions(user, scope)["at_scope"]["areas"]
        out: dict[str, str] = {}
        for ref, level in held.items():
            owner, key = split_ref(ref)
            if product is not None and owner != product:
                continue
            assert key not in out, f"{key!r} is held in several products at {scope}: {held}"
            out[key] = level
        return out

    def at_refs(self, user: str, scope: str) -> dict[str, str]:
        """Every area the user holds at ``scope``, by ref (product/key), as the API says."""
        return self.permissions(user, scope)["at_scope"]["areas"]

    def explain(
        self, user: str, area: str, level: str, scope: str, product: str | None = None
    ) -> dict[str, Any]:
        query = {"area": area, "level": level, "scope": scope}
        if product is not None:
            query["product"] = product
        return self.ok(self.get(f"/users/{user}/explain", **query))


@pytest.fixture
def admin(client: FlaskClient, tenant: TenantKeys) -> Admin:
    return Admin(client, tenant)


@pytest.fixture
def directory(runtime: Runtime, tenant: TenantKeys) -> Directory:
    return Directory(runtime, tenant.id)
