"""Users: create, read, replace, delete; uniqueness; passwords; tenancy; deactivation."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from service.persistence.models import AuditEvent
from service.persistence.scim_models import ScimUser
from service.runtime import Runtime
from service.services.scim_users import verify_password
from tests.conftest import TenantKeys
from tests.scim.conftest import ENTERPRISE, SCIM_JSON, USER_SCHEMA, Scim, assert_scim_error


def test_creating_a_user_answers_201_with_location_equal_to_meta_location(scim: Scim) -> None:
    response = scim.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": "bjensen@example.org",
            "externalId": "bj-1",
            "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. B J"},
            "displayName": "Babs",
            "emails": [
                {"value": "bjensen@example.org", "type": "work", "primary": True},
                {"value": "babs@home.example", "type": "home"},
            ],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            "addresses": [{"type": "work", "locality": "Minneapolis", "country": "US"}],
            "title": "Tour Guide",
            "userType": "Employee",
            "preferredLanguage": "en-US",
            "locale": "en-US",
            "timezone": "America/Chicago",
            ENTERPRISE: {
                "employeeNumber": "701984",
                "costCenter": "4130",
                "organization": "Universal Studios",
                "division": "Theme Park",
                "department": "Tour Operations",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "Users/2611"},
            },
        },
    )
    assert response.status_code == 201
    assert response.mimetype == SCIM_JSON
    body = response.json
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"] == f"http://localhost/scim/v2/Users/{body['id']}"
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["created"] == body["meta"]["lastModified"]
    assert response.headers["ETag"] == body["meta"]["version"]
    assert body["userName"] == "bjensen@example.org"
    assert body["name"]["familyName"] == "Jensen"
    assert body["emails"][0] == {"value": "bjensen@example.org", "type": "work", "primary": True}
    assert body[ENTERPRISE]["department"] == "Tour Operations"
    assert body[ENTERPRISE]["manager"]["value"] == "26118915-6090-4610-87e4-49d8ca9f808d"
    assert body.get("active") is not False


def test_a_user_is_read_back_by_id(scim: Scim) -> None:
    created = scim.create_user("alice", displayName="Alice")
    response = scim.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.json["displayName"] == "Alice"
    assert response.json["id"] == created["id"]


def test_an_unknown_id_is_404_with_a_scim_error(scim: Scim) -> None:
    assert_scim_error(scim.get("/Users/00000000-0000-0000-0000-000000000000"), 404)


def test_another_tenants_user_is_404_for_read_replace_patch_and_delete(
    scim: Scim, make_tenant: Callable[[str], TenantKeys], scim_for: Callable[[TenantKeys], Scim]
) -> None:
    other = scim_for(make_tenant("globex"))
    theirs = other.create_user("carol")["id"]
    assert_scim_error(scim.get(f"/Users/{theirs}"), 404)
    assert_scim_error(
        scim.put(f"/Users/{theirs}", {"schemas": [USER_SCHEMA], "userName": "x"}), 404
    )
    assert_scim_error(
        scim.patch(f"/Users/{theirs}", [{"op": "replace", "path": "title", "value": "x"}]), 404
    )
    assert_scim_error(scim.delete(f"/Users/{theirs}"), 404)
    assert scim.get("/Users").json["totalResults"] == 0
    assert other.get(f"/Users/{theirs}").json["userName"] == "carol"


def test_the_same_user_name_may_exist_in_two_tenants(
    scim: Scim, make_tenant: Callable[[str], TenantKeys], scim_for: Callable[[TenantKeys], Scim]
) -> None:
    first = scim.create_user("shared@example.org", externalId="same")
    second = scim_for(make_tenant("globex")).create_user("shared@example.org", externalId="same")
    assert first["id"] != second["id"]


def test_a_duplicate_user_name_is_409_uniqueness_whatever_its_case(scim: Scim) -> None:
    scim.create_user("BJensen")
    response = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "bjensen"})
    assert_scim_error(response, 409, "uniqueness")


def test_a_duplicate_external_id_is_409_uniqueness(scim: Scim) -> None:
    scim.create_user("one", externalId="ext-1")
    response = scim.post(
        "/Users", {"schemas": [USER_SCHEMA], "userName": "two", "externalId": "ext-1"}
    )
    assert_scim_error(response, 409, "uniqueness")


def test_a_user_without_user_name_is_400_invalid_value(scim: Scim) -> None:
    response = scim.post("/Users", {"schemas": [USER_SCHEMA], "displayName": "nobody"})
    assert_scim_error(response, 400)
    assert response.json["scimType"] in {"invalidValue", "invalidSyntax"}


def test_a_password_is_stored_hashed_and_never_returned(scim: Scim, runtime: Runtime) -> None:
    response = scim.post(
        "/Users", {"schemas": [USER_SCHEMA], "userName": "pw", "password": "t1meMa$heen"}
    )
    assert response.status_code == 201
    assert "password" not in response.json
    assert "password" not in scim.get(f"/Users/{response.json['id']}").json
    listed = scim.get("/Users", attributes="password,userName").json["Resources"]
    assert all("password" not in user for user in listed)
    with runtime.unit_of_work() as uow:
        session = uow.session
        row = session.get(ScimUser, response.json["id"])
        assert row is not None and row.password_hash is not None
        assert "t1meMa$heen" not in row.password_hash
        assert "password" not in row.document
        assert verify_password("t1meMa$heen", row.password_hash)


def test_put_replaces_the_user_ignores_read_only_attributes_and_keeps_the_id(scim: Scim) -> None:
    created = scim.create_user("replace-me", title="Old", nickName="Nick")
    response = scim.put(
        f"/Users/{created['id']}",
        {
            "schemas": [USER_SCHEMA],
            "id": created["id"],
            "userName": "replace-me",
            "title": "New",
            "meta": {"created": "2000-01-01T00:00:00Z"},
            "groups": [{"value": "ignored"}],
        },
    )
    assert response.status_code == 200
    body = response.json
    assert body["title"] == "New"
    assert "nickName" not in body
    assert body["meta"]["created"] == created["meta"]["created"]
    assert "groups" not in body
    assert body["meta"]["version"] != created["meta"]["version"]


def test_put_never_creates_a_user(scim: Scim) -> None:
    response = scim.put(
        "/Users/11111111-1111-1111-1111-111111111111",
        {"schemas": [USER_SCHEMA], "userName": "ghost"},
    )
    assert_scim_error(response, 404)
    assert scim.get("/Users").json["totalResults"] == 0


def test_put_that_changes_the_user_name_to_a_taken_one_is_409(scim: Scim) -> None:
    scim.create_user("taken")
    mine = scim.create_user("mine")
    response = scim.put(f"/Users/{mine['id']}", {"schemas": [USER_SCHEMA], "userName": "TAKEN"})
    assert_scim_error(response, 409, "uniqueness")


def test_last_modified_changes_on_a_real_change_and_not_on_a_no_op(scim: Scim) -> None:
    created = scim.create_user("steady", title="Same")
    path = f"/Users/{created['id']}"
    same = scim.put(path, {"schemas": [USER_SCHEMA], "userName": "steady", "title": "Same"})
    assert same.status_code == 200
    assert same.json["meta"]["lastModified"] == created["meta"]["lastModified"]
    assert same.json["meta"]["version"] == created["meta"]["version"]
    noop = scim.patch(path, [{"op": "replace", "path": "title", "value": "Same"}])
    assert noop.json["meta"]["version"] == created["meta"]["version"]
    changed = scim.patch(path, [{"op": "replace", "path": "title", "value": "Other"}])
    assert changed.json["meta"]["lastModified"] > created["meta"]["lastModified"]
    assert changed.json["meta"]["version"] != created["meta"]["version"]


def test_delete_answers_204_and_the_user_is_then_404(scim: Scim) -> None:
    created = scim.create_user("gone")
    response = scim.delete(f"/Users/{created['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_scim_error(scim.get(f"/Users/{created['id']}"), 404)
    assert_scim_error(scim.delete(f"/Users/{created['id']}"), 404)


def test_a_deactivated_user_stays_readable_filterable_and_can_be_reactivated(scim: Scim) -> None:
    created = scim.create_user("leaver")
    path = f"/Users/{created['id']}"
    off = scim.patch(path, [{"op": "replace", "path": "active", "value": False}])
    assert off.status_code == 200 and off.json["active"] is False
    assert scim.get(path).json["active"] is False
    found = scim.get("/Users", filter="active eq false").json
    assert [u["id"] for u in found["Resources"]] == [created["id"]]
    on = scim.patch(path, [{"op": "replace", "path": "active", "value": True}])
    assert on.json["active"] is True
    assert scim.get("/Users", filter="active eq false").json["totalResults"] == 0


def test_every_write_is_audited_with_the_token_as_actor(
    scim: Scim, runtime: Runtime, tenant: TenantKeys
) -> None:
    created = scim.create_user("audited")
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    scim.delete(f"/Users/{created['id']}")
    with runtime.unit_of_work() as uow:
        session = uow.session
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == tenant.id, AuditEvent.target_type == "scim_user")
                .order_by(AuditEvent.occurred_at)
            )
        )
    assert [e.action for e in events] == [
        "scim.user.create",
        "scim.user.deactivate",
        "scim.user.delete",
    ]
    assert all(e.actor.startswith("token:") for e in events)
    assert events[1].before == {**events[1].before, "active": True}
    assert events[1].after["active"] is False
