"""Interoperability: the AuthZEN Authorization API 1.0 specification's own example
requests (tests/authzen/fixtures/, verbatim), sent to rolecall in the tenant the
examples describe (tests/authzen/conftest.py `library`); the answers are shaped as
1.0 says and decide as the tenant's grants say.

Each test names the section whose example it sends and quotes what it proves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from tests.authzen.conftest import ALICE, AuthZEN, Library
from tests.conftest import TenantKeys
from tests.permissions.conftest import Admin

FIXTURES = Path(__file__).parent / "fixtures"


def example(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def http_example(name: str) -> tuple[str, str, dict[str, str], Any]:
    """Method, path, headers and JSON body (None when it has none) of an .http example."""
    head, _, body = (FIXTURES / name).read_text().partition("\n\n")
    request_line, *header_lines = head.splitlines()
    method, path, _ = request_line.split(" ")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return method, path, headers, json.loads(body) if body.strip() else None


def decisions(answer: dict[str, Any]) -> list[bool]:
    return [item["decision"] for item in answer["evaluations"]]


def test_the_access_evaluation_example_is_answered_with_a_decision(
    authzen: AuthZEN, library: Library
) -> None:
    """§6.1.1 "Example Request" (Alice, can_read, account 123, with action properties and
    a context); §6.2: "The response ... consists of the Decision entity"."""
    answer = authzen.ok("evaluation", library.to_tenant(example("6.1.1-request-example.json")))

    assert answer == {"decision": True}


def test_evaluations_without_default_values_are_answered_in_order(
    authzen: AuthZEN, library: Library
) -> None:
    """§7.1: "three requests, with no default values"; §7.2: "lists the decisions in the
    same order they were provided". subject-search.md names no scope of the tenant: a
    deny with its reason, as §7.2.1 shows for "Resource not found"."""
    body = library.to_tenant(example("7.1-evaluations-without-default-values.json"))

    answer = authzen.ok("evaluations", body)

    assert decisions(answer) == [True, False, True]
    assert answer["evaluations"][1]["context"] == {"reason": "unknown scope"}
    # §7.2: "it is RECOMMENDED that the decision key of the response be omitted"
    assert "decision" not in answer


def test_top_level_subject_and_context_are_defaults_for_every_evaluation(
    authzen: AuthZEN, library: Library
) -> None:
    """§7.1.1: "three requests that refer to a single subject and context"."""
    body = library.to_tenant(example("7.1.1-default-values-subject-and-context.json"))

    assert decisions(authzen.ok("evaluations", body)) == [True, False, True]


def test_an_evaluation_s_own_action_overrides_the_top_level_default(
    authzen: AuthZEN, library: Library
) -> None:
    """§7.1.1: "a default value for action, that is overridden by the third request":
    Alice may read resource-search.md but not edit it."""
    body = library.to_tenant(example("7.1.1-default-values-action-overridden.json"))

    assert decisions(authzen.ok("evaluations", body)) == [True, False, False]


def test_the_options_example_lacks_an_action_anywhere_and_is_a_bad_request(
    authzen: AuthZEN, library: Library
) -> None:
    """§7.1.2's example of `options` has an evaluation with no action and no top-level
    action; §7.1.1: "any of these keys omitted from an evaluation object MUST be provided
    as a top-level key", and §10.1.1: "If a required attribute ... is omitted, the
    server MUST return a 'Bad Request' error"."""
    response = authzen.post("evaluations", example("7.1.2-evaluations-options.json"))

    assert response.status_code == 400
    assert response.json["errors"]["json"]["evaluations"]["0"] == {
        "action": ["Missing here and at the top level."]
    }


def test_the_three_evaluation_semantics_answer_as_the_specification_s_responses(
    authzen: AuthZEN, library: Library
) -> None:
    """§7.1.2.1 "Evaluate read action for three documents using all three semantics":
    Alice may read documents 1 and 3, not 2; execute_all answers all three, deny on first
    deny stops at 2, permit on first permit at 1 - the decisions of the spec's responses."""
    for semantic in ("execute-all", "deny-on-first-deny", "permit-on-first-permit"):
        body = library.to_tenant(example(f"7.1.2.1-{semantic}.request.json"))
        expected = example(f"7.1.2.1-{semantic}.response.json")

        answer = authzen.ok("evaluations", body)

        assert decisions(answer) == decisions(expected), semantic


def test_the_action_search_example_lists_what_alice_may_do_on_account_123(
    authzen: AuthZEN, library: Library
) -> None:
    """§8.6.1.1: the actions Alice may perform on account 123 - can_read and can_write,
    each named so that (§8.1) "any result ... when subsequently used in an Access
    Evaluation API call, SHOULD result in a decision: true"."""
    body = library.to_tenant(example("8.6.1.1-action-search-request-example.json"))
    expected = example("8.6.1.1-action-search-response-example.json")

    answer = authzen.ok("search/action", body)

    names = [result["name"] for result in answer["results"]]
    assert sorted(n.split("/")[-1].split(":")[0] for n in names) == sorted(
        r["name"] for r in expected["results"]
    )
    assert answer["page"]["next_token"] == ""  # §8.2.2: the end of the result set
    account = library.scope("account", "123")
    assert all(authzen.decide(ALICE, name, account) for name in names)


def test_the_metadata_example_request_gets_every_endpoint_as_an_absolute_url(
    client: FlaskClient,
) -> None:
    """§9.2.1 "GET /.well-known/authzen-configuration" (no token); §9.2.2: "MUST use the
    HTTP status code 200 and a Content-Type of application/json", with at least the
    parameters of the spec's example response, each URL under policy_decision_point."""
    method, path, _, _ = http_example("9.2.1-pdp-metadata-request.http")
    spec_response = json.loads(
        (FIXTURES / "9.2.2-pdp-metadata-response.http").read_text().partition("\n\n")[2]
    )

    response = client.open(path, method=method)

    assert (response.status_code, response.mimetype) == (200, "application/json")
    document = response.json
    base = document["policy_decision_point"]
    assert base == "http://localhost"  # the public base URL the tests' settings name
    for key, spec_url in spec_response.items():
        if key != "policy_decision_point":
            path_of = spec_url.removeprefix(spec_response["policy_decision_point"])
            assert document[key] == base + path_of, key
    assert document["access_evaluations_endpoint"] == base + "/access/v1/evaluations"
    assert document["search_action_endpoint"] == base + "/access/v1/search/action"


def _send(client: FlaskClient, tenant: TenantKeys, library: Library, name: str) -> Any:
    method, path, headers, body = http_example(name)
    headers["Authorization"] = f"Bearer {tenant.read}"
    headers.pop("Host")
    response = client.open(
        path, method=method, headers=headers, data=json.dumps(library.to_tenant(body))
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    # §10.1.3: "If the PEP specified a request identifier in the request, the PDP MUST
    # include the same identifier in the response to that request."
    assert response.headers["X-Request-ID"] == headers["X-Request-ID"]
    return response.json


def test_the_https_binding_s_evaluation_example_is_permitted_with_its_request_id(
    client: FlaskClient, tenant: TenantKeys, library: Library
) -> None:
    """§10.1.4 "Example of an HTTPS Access Evaluation Request" (Alice, can_read, todo 1),
    answered as the example response: {"decision": true}, with the same X-Request-ID."""
    answer = _send(client, tenant, library, "10.1.4-example-access-evaluation-request.http")

    spec_response = (FIXTURES / "10.1.4-example-access-evaluation-response.http").read_text()
    assert answer == json.loads(spec_response.partition("\n\n")[2])


def test_the_https_binding_s_evaluations_example_decides_as_its_example_response(
    client: FlaskClient, tenant: TenantKeys, library: Library
) -> None:
    """§10.1.4 "Example of an HTTPS Access Evaluations Request": true, false (the
    resource is not found), false (Alice only reads resource-search.md)."""
    answer = _send(client, tenant, library, "10.1.4-example-access-evaluations-request.http")

    spec_response = (FIXTURES / "10.1.4-example-access-evaluations-response.http").read_text()
    assert decisions(answer) == decisions(json.loads(spec_response.partition("\n\n")[2]))
    assert answer["evaluations"][1]["context"] == {"reason": "unknown scope"}


def test_the_https_binding_s_action_search_example_is_answered_with_its_request_id(
    client: FlaskClient, tenant: TenantKeys, library: Library
) -> None:
    """§10.1.4 "Example of an HTTPS Action Search Request" (Alice, account 123)."""
    answer = _send(client, tenant, library, "10.1.4-example-action-search-request.http")

    assert len(answer["results"]) == 2
    assert answer["page"] == {"next_token": "", "count": 2}


def test_the_subject_search_example_finds_alice_and_bob_for_account_123(
    authzen: AuthZEN, library: Library
) -> None:
    """§8.4.1.1: "the subjects of type user that can perform the can_read action on the
    resource of type account and ID 123" - Alice and Bob, as the example response says;
    not Carol, who holds nothing."""
    body = library.to_tenant(example("8.4.1.1-subject-search-request-example.json"))
    expected = example("8.4.1.1-subject-search-response-example.json")

    answer = authzen.ok("search/subject", body)

    assert {r["type"] for r in answer["results"]} == {"user"}
    assert sorted(library.users[r["id"]] for r in answer["results"]) == sorted(
        r["id"] for r in expected["results"]
    )
    assert answer["page"]["next_token"] == ""
    assert list(answer) == ["page", "results"]  # §8.3: page "be the first key"


def test_the_resource_search_example_finds_the_accounts_alice_may_read(
    authzen: AuthZEN, admin: Admin, library: Library
) -> None:
    """§8.5.1.1: "the resources of type account on which the subject ... alice@example.com
    can perform the can_read action" - 123 and 456 in the example response (Alice's
    reading of 789 is withdrawn first, so that the tenant is the example's); her
    documents, of another type, are not listed."""
    [at_789] = [
        a["id"]
        for a in admin.ok(admin.get("/assignments", user=ALICE))
        if a["scope_id"] == library.scope("account", "789")
    ]
    admin.ok(admin.delete(f"/assignments/{at_789}"), 204)
    body = library.to_tenant(example("8.5.1.1-resource-search-request-example.json"))
    expected = example("8.5.1.1-resource-search-response-example.json")

    answer = authzen.ok("search/resource", body)

    assert [(r["type"], library.name_of(r["id"])) for r in answer["results"]] == [
        (r["type"], r["id"]) for r in expected["results"]
    ]


def test_the_pagination_example_gets_three_accounts_in_pages_of_two(
    authzen: AuthZEN, library: Library
) -> None:
    """§8.2.3: "a request-response cycle to retrieve a total of three results with a page
    size limit of two": 123 and 456 with a next_token, then 789 with an empty one. The
    second request is the spec's, with our first next_token in place of its token."""
    first = library.to_tenant(example("8.2.3-search-pagination-token-initial-request.json"))
    second = library.to_tenant(example("8.2.3-search-pagination-token-second-request.json"))
    spec_first = example("8.2.3-search-pagination-token-initial-response.json")
    spec_second = example("8.2.3-search-pagination-token-second-response.json")

    page_1 = authzen.ok("search/resource", first)
    second["page"]["token"] = page_1["page"]["next_token"]
    page_2 = authzen.ok("search/resource", second)

    for ours, spec in ((page_1, spec_first), (page_2, spec_second)):
        assert [library.name_of(r["id"]) for r in ours["results"]] == [
            r["id"] for r in spec["results"]
        ]
        assert ours["page"]["count"] == spec["page"]["count"]
        assert (ours["page"]["next_token"] == "") == (spec["page"]["next_token"] == "")


def test_the_https_binding_s_subject_search_example_is_answered_with_its_request_id(
    client: FlaskClient, tenant: TenantKeys, library: Library
) -> None:
    """§10.1.4 "Example of an HTTPS Subject Search Request" (can_read, account 123)."""
    answer = _send(client, tenant, library, "10.1.4-example-subject-search-request.http")

    assert sorted(library.users[r["id"]] for r in answer["results"]) == [
        "alice@example.com",
        "bob@example.com",
    ]


def test_the_https_binding_s_resource_search_example_is_answered_with_its_request_id(
    client: FlaskClient, tenant: TenantKeys, library: Library
) -> None:
    """§10.1.4 "Example of an HTTPS Resource Search Request" (Alice, can_read, accounts)."""
    answer = _send(client, tenant, library, "10.1.4-example-resource-search-request.http")

    assert [library.name_of(r["id"]) for r in answer["results"]] == ["123", "456", "789"]
    assert {r["type"] for r in answer["results"]} == {"account"}
