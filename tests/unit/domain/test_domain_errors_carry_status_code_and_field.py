"""Domain errors carry what the HTTP layer needs: status, code, field, message."""

from __future__ import annotations

import pytest

from service.domain import Conflict, DomainError, NotFound, ValidationFailed


@pytest.mark.parametrize(
    ("cls", "status"), [(ValidationFailed, 422), (NotFound, 404), (Conflict, 409)]
)
def test_each_kind_of_error_has_its_status(cls: type[DomainError], status: int):
    error = cls("some_code", "something is wrong", "field_name")

    assert isinstance(error, DomainError)
    assert error.status == status
    assert error.to_dict() == {
        "status": status,
        "code": "some_code",
        "field": "field_name",
        "message": "something is wrong",
    }
    assert str(error) == "something is wrong"
