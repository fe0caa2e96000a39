"""service.scim.render builds from stored rows exactly what scim2-models and scim2-server
would answer for them: the same body for a read, a search page and a create, for a
set of representative resources and response parameters."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from scim2_models import ResponseParameters, SearchRequest
from scim2_server.conditions import Conditions
from scim2_server.responses import ScimResponse
from scim2_server.storage import SearchPage

from service.runtime import Runtime
from service.scim.protocol import RolecallScimService, build_provider
from service.scim.storage import SqlStorage
from tests.scim.conftest import ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, Scim

BASE_URL = "http://localhost/scim/v2"

FULL_USER = {
    "schemas": [USER_SCHEMA, ENTERPRISE],
    "userName": "bjensen@example.org",
    "externalId": "bj-1",
    "name": {
        "givenName": "Barbara",
        "familyName": "Jensen",
        "formatted": "Ms. Barbara J Jensen III",
        "middleName": "Jane",
        "honorificPrefix": "Ms.",
        "honorificSuffix": "III",
    },
    "displayName": "Babs",
    "nickName": "Babs",
    "profileUrl": "https://login.example.com/bjensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Chicago",
    "active": True,
    "password": "t1meMa$heen",
    "emails": [
        {"value": "bjensen@example.org", "type": "work", "primary": True},
        {"value": "babs@home.example", "type": "home", "display": "home mail"},
    ],
    "phoneNumbers": [{"value": "tel:+1-201-555-0123", "type": "work"}],
    "ims": [{"value": "someaimhandle", "type": "aim"}],
    "photos": [
        {"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}
    ],
    "addresses": [
        {
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "US",
            "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
            "primary": True,
        }
    ],
    "entitlements": [{"value": "reader"}],
    "roles": [{"value": "guide", "primary": True}],
    "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
    ENTERPRISE: {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "Users/2611"},
    },
}


@pytest.fixture
def population(scim: Scim) -> dict[str, Any]:
    """Users and groups of every shape: full and minimal, inactive, nested groups."""
    full = scim.post("/Users", FULL_USER).json
    minimal = scim.create_user("min")
    inactive = scim.create_user("gone", active=False, displayName="Gone", externalId="g-1")
    absolute = scim.create_user(
        "abs",
        schemas=[USER_SCHEMA, ENTERPRISE],
        **{ENTERPRISE: {"manager": {"value": minimal["id"], "$ref": f"{BASE_URL}/Users/x"}}},
    )
    inner = scim.create_group("inner", [full["id"], minimal["id"]], externalId="gi-1")
    outer = scim.create_group("outer", [inner["id"], inactive["id"]])
    empty = scim.create_group("empty")
    scim.patch(
        f"/Groups/{outer['id']}",
        [{"op": "add", "path": "members", "value": [{"value": absolute["id"], "display": "A"}]}],
    )
    return {
        "User": [full["id"], minimal["id"], inactive["id"], absolute["id"]],
        "Group": [inner["id"], outer["id"], empty["id"]],
        "tenant": scim.keys.id,
    }


PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "User": [
        {},
        {"excludedAttributes": "groups"},
        {"excludedAttributes": "emails,displayName"},
        {"excludedAttributes": "Groups,NAME,x509Certificates"},
        {"excludedAttributes": "externalId,active,addresses,phoneNumbers,ims,photos,roles"},
    ],
    "Group": [
        {},
        {"excludedAttributes": "members"},
        {"excludedAttributes": "MEMBERS,externalId"},
        {"excludedAttributes": "displayName"},
    ],
}


def _service() -> RolecallScimService:
    return RolecallScimService(build_provider(), secret="test")


@pytest.mark.parametrize("kind", ["User", "Group"])
def test_a_read_equals_the_library_response(
    runtime: Runtime, population: dict[str, Any], kind: str
) -> None:
    service = _service()
    resource_type = service.get_resource_type(kind)
    models = {rt.name: service.get_model(rt) for rt in service.provider.resource_types}
    checked = 0
    with runtime.unit_of_work() as uow:
        session = uow.session
        storage = SqlStorage(session, population["tenant"], "test", models)  # type: ignore[arg-type]
        for resource_id in population[kind]:
            for query in PARAMETERS[kind]:
                parameters = service.read_response_parameters(resource_type, query)
                assert service.renderer.supports(kind, parameters), query
                library = service.query_response(
                    BASE_URL,
                    storage.get(resource_type, resource_id, response_parameters=parameters),
                    parameters,
                    Conditions(),
                )
                record = storage.get_record(
                    resource_type,
                    resource_id,
                    with_related=service.renderer.wants_related(kind, parameters),
                )
                ours = service.renderer.resource(
                    BASE_URL, record, service.renderer.excluded(kind, parameters)
                )
                assert ours == library.body, (resource_id, query)
                headers = ScimResponse(
                    HTTPStatus.OK, ours, service.renderer.headers(BASE_URL, record)
                )
                assert headers.headers == library.headers
                checked += 1
    assert checked == len(population[kind]) * len(PARAMETERS[kind])


@pytest.mark.parametrize("kind", ["User", "Group"])
def test_a_search_page_equals_the_library_response(
    runtime: Runtime, population: dict[str, Any], kind: str
) -> None:
    service = _service()
    resource_type = service.get_resource_type(kind)
    models = {rt.name: service.get_model(rt) for rt in service.provider.resource_types}
    with runtime.unit_of_work() as uow:
        session = uow.session
        storage = SqlStorage(session, population["tenant"], "test", models)  # type: ignore[arg-type]
        for query in [*PARAMETERS[kind], {"startIndex": "2", "count": "2", "sortBy": "id"}]:
            search_request, _ = service.read_search_query([resource_type], query)
            assert service.renderer.supports(kind, search_request)
            total, records = storage.search_records(
                resource_type,
                search_request,
                with_related=service.renderer.wants_related(kind, search_request),
            )
            page = storage.search([resource_type], search_request)
            assert isinstance(page, SearchPage)
            library = service.search_response(BASE_URL, [resource_type], page, search_request)
            ours = service.renderer.list_response(
                BASE_URL,
                total,
                search_request.start_index,
                records,
                service.renderer.excluded(kind, search_request),
            )
            assert ours == library.body, query


def test_a_create_answers_what_the_library_would(scim: Scim, runtime: Runtime) -> None:
    service = _service()
    response = scim.post("/Users", FULL_USER)
    assert response.status_code == 201
    resource_type = service.get_resource_type("User")
    models = {rt.name: service.get_model(rt) for rt in service.provider.resource_types}
    with runtime.unit_of_work() as uow:
        session = uow.session
        storage = SqlStorage(session, scim.keys.id, "test", models)  # type: ignore[arg-type]
        library = service.creation_response(
            BASE_URL, storage.get(resource_type, response.json["id"])
        )
    assert response.json == library.body
    assert {k: response.headers[k] for k in library.headers} == library.headers
    group = scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "g",
            "members": [{"value": response.json["id"], "display": "Babs"}],
        },
    )
    assert group.status_code == 201
    assert group.json["members"] == [
        {
            "value": response.json["id"],
            "$ref": f"{BASE_URL}/Users/{response.json['id']}",
            "type": "User",
            "display": "Babs",
        }
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"attributes": "userName"},
        {"excludedAttributes": "name.givenName"},
        {"excludedAttributes": "id"},
        {"excludedAttributes": "schemas"},
        {"excludedAttributes": "meta"},
        {"excludedAttributes": f"{ENTERPRISE}:department"},
    ],
)
def test_other_parameters_are_left_to_the_library(query: dict[str, str]) -> None:
    service = _service()
    parameters = ResponseParameters[service.get_model(service.get_resource_type("User"))]
    assert not service.renderer.supports("User", parameters.model_validate(query))
    assert isinstance(SearchRequest, type)


def test_a_search_reads_each_users_groups_as_a_read_by_id_does(
    runtime: Runtime, population: dict[str, Any]
) -> None:
    # The page's query brings the direct groups as JSON; a read by id queries them.
    service = _service()
    resource_type = service.get_resource_type("User")
    models = {rt.name: service.get_model(rt) for rt in service.provider.resource_types}
    with runtime.unit_of_work() as uow:
        session = uow.session
        storage = SqlStorage(session, population["tenant"], "test", models)  # type: ignore[arg-type]
        search_request, _ = service.read_search_query([resource_type], {})
        _, records = storage.search_records(resource_type, search_request, with_related=True)
        assert {record.row.id for record in records} == set(population["User"])
        with_groups = 0
        for record in records:
            alone = storage.get_record(resource_type, record.row.id, with_related=True)
            assert record.related == alone.related
            with_groups += bool(record.related)
    assert with_groups == 4  # direct and, through "inner" in "outer", indirect groups
