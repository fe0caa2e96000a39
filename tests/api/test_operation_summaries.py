"""Every operation in the OpenAPI document says in one short line what it does, as the
docs page lists it; the longer story, where there is one, is its description."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.cli import openapi_document

METHODS = {"get", "put", "post", "patch", "delete"}


def _operations() -> list[tuple[str, dict[str, Any]]]:
    paths = json.loads(openapi_document())["paths"]
    return [
        (f"{method.upper()} {path}", operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method in METHODS
    ]


OPERATIONS = _operations()


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_every_operation_has_a_short_one_line_summary(name: str, operation: dict[str, Any]) -> None:
    summary = operation.get("summary", "")
    assert summary.strip(), f"{name} has no summary (the first line of its view's docstring)"
    assert "\n" not in summary, f"{name}: the summary is one line; the rest is the description"
    assert len(summary) <= 80, f"{name}: {summary!r} is longer than 80 characters"
    assert not summary.endswith("."), f"{name}: a summary is a title, without a full stop"


def test_a_description_adds_to_the_summary_instead_of_repeating_it() -> None:
    for name, operation in OPERATIONS:
        description = operation.get("description")
        if description:
            assert description.strip() != operation["summary"].strip(), name


def test_the_operations_named_in_the_issue_now_say_what_they_do() -> None:
    summaries = {name: operation["summary"] for name, operation in OPERATIONS}
    assert summaries["POST /api/v1/tokens"] == "Create an API token"
    assert summaries["POST /api/v1/mappings"] == "Map an IdP group to a role at a scope"
    assert summaries["GET /api/v1/users/{ref}/permissions"] == "Read a user's effective permissions"
    assert summaries["DELETE /api/v1/products/{key}"] == "Delete a product"


def test_every_tag_says_what_its_operations_are_about() -> None:
    document = json.loads(openapi_document())
    used = {tag for _, operation in OPERATIONS for tag in operation.get("tags", [])}
    described = {tag["name"] for tag in document.get("tags", []) if tag.get("description")}
    assert used <= described, f"tags without a description: {sorted(used - described)}"
