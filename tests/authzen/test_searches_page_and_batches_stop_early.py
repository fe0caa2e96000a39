"""Searches page with tokens bound to their request, every result of a search is
permitted when evaluated (1.0 §8.1), and the short-circuit semantics stop exactly at
the deciding evaluation (1.0 §7.1.2.1)."""

from __future__ import annotations

from typing import Any

from tests.authzen.conftest import ALICE, AuthZEN, Library
from tests.permissions.conftest import Admin, Directory


def subject_search(scope: str, limit: int, token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"limit": limit}
    if token is not None:
        page["token"] = token
    return {
        "subject": {"type": "user"},
        "action": {"name": "can_read"},
        "resource": {"type": "account", "id": scope},
        "page": page,
    }


def test_subject_search_pages_reach_every_reader_once_in_a_stable_order(
    authzen: AuthZEN, admin: Admin, directory: Directory, library: Library
) -> None:
    """Pages of two, followed by next_token to the empty token, with a reader added
    after the first page: every user who may read account 123 and did not change
    appears once, and each is permitted when evaluated (§8.1: "any result ... SHOULD
    result in a decision: true")."""
    account = library.scope("account", "123")
    readers = [ALICE, "bob@example.com"]
    for n in range(5):
        readers.append(f"reader{n}@example.com")
        directory.user(readers[-1])
        admin.assign(readers[-1], "account_reader", account, assign_account=True)

    seen: list[str] = []
    token = None
    while True:
        answer = authzen.ok("search/subject", subject_search(account, 2, token))
        assert answer["page"]["count"] == len(answer["results"]) <= 2
        seen += [r["properties"]["userName"] for r in answer["results"]]
        token = answer["page"]["next_token"]
        if token == "":
            break
        if len(seen) == 2:  # a change between pages
            directory.user("late@example.com")
            admin.assign("late@example.com", "account_reader", account, assign_account=True)

    assert len(seen) == len(set(seen))
    assert sorted(set(seen) - {"late@example.com"}) == sorted(readers)
    assert all(authzen.decide(name, "can_read", account) for name in seen)


def test_a_token_continues_only_the_request_it_was_given_for(
    authzen: AuthZEN, library: Library
) -> None:
    """1.0 §8.2: "PDPs SHOULD return an error when any entity or parameter has been
    changed" mid-pagination."""
    account = library.scope("account", "123")
    token = authzen.ok("search/subject", subject_search(account, 1))["page"]["next_token"]
    assert token != ""
    changed = subject_search(account, 1, token)
    changed["action"] = {"name": "can_write"}

    response = authzen.post("search/subject", changed)

    assert response.status_code == 400
    assert "another request" in response.json["message"]


def test_resource_search_results_are_each_permitted_when_evaluated(
    authzen: AuthZEN, library: Library
) -> None:
    """Every scope of any type (`scope`) where Alice may read, in pages of three."""
    body: dict[str, Any] = {
        "subject": {"type": "user", "id": ALICE},
        "action": {"name": "can_read"},
        "resource": {"type": "scope"},
        "page": {"limit": 3},
    }
    found: list[dict[str, Any]] = []
    while True:
        answer = authzen.ok("search/resource", body)
        found += answer["results"]
        if answer["page"]["next_token"] == "":
            break
        body["page"]["token"] = answer["page"]["next_token"]

    assert sorted(library.name_of(r["id"]) for r in found) == sorted(
        ["123", "456", "789", "boxcarring.md", "resource-search.md", "1", "3", "1"]
    )
    assert all(authzen.decide(ALICE, "can_read", r["id"]) for r in found)


def test_action_search_pages_too(authzen: AuthZEN, library: Library) -> None:
    body: dict[str, Any] = {
        "subject": {"type": "user", "id": ALICE},
        "resource": {"type": "account", "id": library.scope("account", "123")},
        "page": {"limit": 1},
    }

    first = authzen.ok("search/action", body)
    body["page"]["token"] = first["page"]["next_token"]
    second = authzen.ok("search/action", body)

    assert first["page"]["next_token"] != "" and second["page"]["next_token"] == ""
    assert len(first["results"]) == len(second["results"]) == 1
    assert first["results"] != second["results"]


def batch(library: Library, semantic: str, documents: list[str]) -> dict[str, Any]:
    return {
        "subject": {"type": "user", "id": ALICE},
        "action": {"name": "read"},
        "options": {"evaluations_semantic": semantic},
        "evaluations": [
            {"resource": {"type": "document", "id": library.scope("document", d)}}
            for d in documents
        ],
    }


def test_deny_on_first_deny_answers_everything_when_nothing_is_denied(
    authzen: AuthZEN, library: Library
) -> None:
    answer = authzen.ok("evaluations", batch(library, "deny_on_first_deny", ["1", "3"]))

    assert answer["evaluations"] == [{"decision": True}, {"decision": True}]


def test_permit_on_first_permit_answers_everything_when_nothing_is_permitted(
    authzen: AuthZEN, library: Library
) -> None:
    answer = authzen.ok("evaluations", batch(library, "permit_on_first_permit", ["2", "2"]))

    assert answer["evaluations"] == [{"decision": False}, {"decision": False}]


def test_short_circuits_stop_at_the_deciding_evaluation(authzen: AuthZEN, library: Library) -> None:
    """ "deny on first denial ... returning on the first denial", and the converse."""
    documents = ["1", "3", "2", "1"]

    denied = authzen.ok("evaluations", batch(library, "deny_on_first_deny", documents))
    permitted = authzen.ok("evaluations", batch(library, "permit_on_first_permit", documents))

    assert [d["decision"] for d in denied["evaluations"]] == [True, True, False]
    assert [d["decision"] for d in permitted["evaluations"]] == [True]


def test_a_batch_without_evaluations_is_one_evaluation(authzen: AuthZEN, library: Library) -> None:
    """1.0 §7.1: "If an evaluations array is NOT present or is empty, the Access
    Evaluations Request behaves in a backwards-compatible manner with the (single)
    Access Evaluation API Request"."""
    body = batch(library, "execute_all", [])
    body["resource"] = {"type": "document", "id": library.scope("document", "1")}

    assert authzen.ok("evaluations", body) == {"decision": True}
    assert authzen.ok("evaluations", {**body, "evaluations": []}) == {"decision": True}
