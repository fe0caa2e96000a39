"""Who may call the AuthZEN endpoints, what each tenant sees, and what bad input gets:
read and admin tokens decide; no token is 401, a token of another kind 403; another
tenant's users and scopes are unknown (a deny, an empty search); a request the model
cannot read is 400 naming the field, never a 500 (1.0 §10.1.1: "If a required
attribute in the information model is omitted, the server MUST return a 'Bad Request'
error")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.runtime import Runtime
from service.settings import Settings
from tests.authzen.conftest import ALICE, AuthZEN, Library
from tests.conftest import TenantKeys

ENDPOINTS = ["evaluation", "evaluations", "search/subject", "search/resource", "search/action"]


def question(scope: str = "some-scope", user: str = ALICE) -> dict[str, Any]:
    return {
        "subject": {"type": "user", "id": user},
        "action": {"name": "can_read"},
        "resource": {"type": "account", "id": scope},
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_request_without_a_token_is_401_with_a_bearer_challenge(
    client: FlaskClient, endpoint: str
) -> None:
    """1.0 §11.3: "the resource server MUST respond with a 401 HTTP status code and SHOULD
    include the HTTP WWW-Authenticate response header field"."""
    response = client.post(f"/access/v1/{endpoint}", json=question())

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_input_without_a_valid_token_is_still_401(client: FlaskClient, endpoint: str) -> None:
    """A caller without a valid token learns nothing from validation."""
    headers = {"Authorization": "Bearer rc_read_not-a-token"}

    assert client.post(f"/access/v1/{endpoint}", json={"x": 1}).status_code == 401
    assert client.post(f"/access/v1/{endpoint}", json={}, headers=headers).status_code == 401


@pytest.mark.parametrize("kind", ["scim", "portal"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_tokens_of_other_kinds_are_403(authzen: AuthZEN, kind: str, endpoint: str) -> None:
    assert authzen.post(endpoint, question(), kind=kind).status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_read_and_admin_tokens_are_answered(
    authzen: AuthZEN, library: Library, endpoint: str
) -> None:
    body = question(library.scope("account", "123"))
    for kind in ("read", "admin"):
        assert authzen.post(endpoint, body, kind=kind).status_code == 200, kind


def test_another_tenant_s_users_and_scopes_are_unknown_here(
    authzen: AuthZEN,
    library: Library,
    make_tenant: Callable[[str], TenantKeys],
    make_authzen: Callable[[TenantKeys], AuthZEN],
) -> None:
    """Every tenant sees only its own data: the token picks the tenant, so Alice and
    account 123 (the first tenant's) are an unknown user and an unknown scope to
    another tenant - a deny and empty searches - while the first tenant permits."""
    other = make_authzen(make_tenant("globex"))
    account = library.scope("account", "123")

    assert authzen.ok("evaluation", question(account)) == {"decision": True}
    assert other.ok("evaluation", question(account)) == {
        "decision": False,
        "context": {"reason": "unknown user"},
    }
    assert other.ok("search/subject", question(account))["results"] == []
    assert other.ok("search/resource", question())["results"] == []
    assert other.ok("search/action", question(account))["results"] == []


def test_a_subject_that_is_not_a_user_is_denied_with_a_reason(
    authzen: AuthZEN, library: Library
) -> None:
    """rolecall's subjects are users: another type is a deny (and an empty search),
    in its place among the evaluations."""
    account = library.scope("account", "123")
    robot = {"type": "service", "id": ALICE}

    answer = authzen.ok(
        "evaluations",
        {
            "action": {"name": "can_read"},
            "resource": {"type": "account", "id": account},
            "evaluations": [{"subject": robot}, {"subject": {"type": "user", "id": ALICE}}],
        },
    )
    search = authzen.ok("search/subject", {**question(account), "subject": {"type": "service"}})

    assert answer["evaluations"] == [
        {"decision": False, "context": {"reason": "rolecall's subjects are of type 'user'"}},
        {"decision": True},
    ]
    assert search["results"] == []


BAD_EVALUATIONS: list[tuple[str, Any, str]] = [
    ("no subject", {"action": {"name": "a"}, "resource": {"type": "t", "id": "1"}}, "subject"),
    ("no subject type", {**question(), "subject": {"id": ALICE}}, "subject.type"),
    ("a numeric subject id", {**question(), "subject": {"type": "user", "id": 5}}, "subject.id"),
    ("a subject that is a string", {**question(), "subject": ALICE}, "subject"),
    ("no action name", {**question(), "action": {}}, "action.name"),
    ("no area before the level", {**question(), "action": {"name": ":granted"}}, "action.name"),
    ("no level after the colon", {**question(), "action": {"name": "edit:"}}, "action.name"),
    (
        "an area in properties that is no string",
        {**question(), "action": {"name": "x", "properties": {"area": 5, "level": "v"}}},
        "action.properties.area",
    ),
    ("no resource id", {**question(), "resource": {"type": "account"}}, "resource.id"),
    ("a resource id too long", {**question("s" * 201)}, "resource.id"),
    ("a context that is no object", {**question(), "context": "now"}, "context"),
    ("NUL in the subject id", {**question(user="al\u0000ice")}, "subject"),
    ("a list for a body", [question()], "_schema"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field"), [b[1:] for b in BAD_EVALUATIONS],
                         ids=[b[0] for b in BAD_EVALUATIONS])  # fmt: skip
def test_an_evaluation_the_model_cannot_read_is_400_naming_the_field(
    authzen: AuthZEN, body: Any, field: str
) -> None:
    response = authzen.post("evaluation", body)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["message"].startswith("Invalid request: ")
    assert field in response.json["message"]


BAD_BATCHES: list[tuple[str, Any, str]] = [
    ("evaluations not a list", {**question(), "evaluations": "all"}, "evaluations"),
    (
        "an item lacking an action with no default",
        {"subject": question()["subject"], "evaluations": [{"resource": {"type": "t", "id": "1"}}]},
        "evaluations.0.action",
    ),
    (
        "an unknown semantic",
        {**question(), "evaluations": [{}], "options": {"evaluations_semantic": "sometimes"}},
        "options.evaluations_semantic",
    ),
    ("too many evaluations", {**question(), "evaluations": [{}] * 501}, "evaluations"),
    ("nothing at all", {}, "subject"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field"), [b[1:] for b in BAD_BATCHES],
                         ids=[b[0] for b in BAD_BATCHES])  # fmt: skip
def test_a_batch_the_model_cannot_read_is_400_naming_the_field(
    authzen: AuthZEN, body: Any, field: str
) -> None:
    response = authzen.post("evaluations", body)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert field in response.json["message"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_that_is_not_json_is_400(authzen: AuthZEN, endpoint: str) -> None:
    response = authzen.client.post(
        f"/access/v1/{endpoint}",
        data='{"subject": {',
        content_type="application/json",
        headers=authzen.keys.auth("read"),
    )

    assert response.status_code == 400
    assert response.json["message"] == "The body is not a JSON document (or is nested too deeply)"


@pytest.mark.parametrize("page", [{"limit": 0}, {"limit": "ten"}, {"limit": 1001}, {"token": 7}])
@pytest.mark.parametrize("endpoint", ["search/subject", "search/resource", "search/action"])
def test_a_search_page_out_of_bounds_is_400_naming_it(
    authzen: AuthZEN, library: Library, endpoint: str, page: dict[str, Any]
) -> None:
    response = authzen.post(endpoint, {**question(library.scope("account", "123")), "page": page})

    assert response.status_code == 400
    assert "page." in response.json["message"]


@pytest.mark.parametrize("endpoint", ["search/subject", "search/resource", "search/action"])
def test_a_page_token_that_is_not_ours_is_400(
    authzen: AuthZEN, library: Library, endpoint: str
) -> None:
    body = {**question(library.scope("account", "123")), "page": {"token": "a3M9NDU2O3N6PTI="}}

    response = authzen.post(endpoint, body)

    assert response.status_code == 400
    assert response.json["message"] == "page.token is not a token this PDP gave"


def test_the_request_id_a_pep_sends_comes_back_on_answers_and_errors(authzen: AuthZEN) -> None:
    """1.0 §10.1.3: "If the PEP specified a request identifier in the request, the PDP
    MUST include the same identifier in the response to that request." """
    rid = "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"

    answered = authzen.post("evaluation", question(), **{"X-Request-ID": rid})
    refused = authzen.post("evaluation", {}, **{"X-Request-ID": rid})

    assert (answered.status_code, answered.headers["X-Request-ID"]) == (200, rid)
    assert (refused.status_code, refused.headers["X-Request-ID"]) == (400, rid)


def test_the_metadata_names_the_address_the_request_reached_when_none_is_configured(
    client: FlaskClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1.0 §9.2.3: policy_decision_point "MUST be identical to the Policy Decision Point
    identifier value into which the well-known URI string was inserted": without a
    configured public base URL, that is the address the request came to."""
    default = Settings.__dataclass_fields__["public_base_url"].default
    monkeypatch.setattr(
        runtime, "settings", runtime.settings.with_overrides(public_base_url=default)
    )

    document = client.get(
        "/.well-known/authzen-configuration", base_url="https://pdp.example.com"
    ).json

    assert document["policy_decision_point"] == "https://pdp.example.com"
    assert document["access_evaluation_endpoint"] == "https://pdp.example.com/access/v1/evaluation"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_sent_as_another_content_type_is_400_saying_so(
    authzen: AuthZEN, endpoint: str
) -> None:
    """1.0 §10.1: "Requests MUST include a Content-Type header with the value
    application/json"."""
    response = authzen.client.post(
        f"/access/v1/{endpoint}",
        data='{"subject": {"type": "user", "id": "alice"}}',
        content_type="text/plain",
        headers=authzen.keys.auth("read"),
    )

    assert response.status_code == 400
    assert "application/json" in response.json["message"]


@pytest.mark.parametrize("endpoint", ["search/subject", "search/resource", "search/action"])
def test_a_page_token_without_a_valid_bearer_token_is_401(
    client: FlaskClient, endpoint: str
) -> None:
    body = {**question(), "page": {"token": "a3M9NDU2O3N6PTI="}}
    headers = {"Authorization": "Bearer rc_read_not-a-token"}

    assert client.post(f"/access/v1/{endpoint}", json=body, headers=headers).status_code == 401
