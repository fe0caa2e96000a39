"""What a SCIM resource may hold to be stored whole: every string free of NUL and no
longer than the column that keeps it.

scim2-models validates the shape of a resource, not what the database can hold: a
string longer than its column is cut or refused by the database depending on the
engine (SQLite stores it, PostgreSQL raises), and PostgreSQL cannot store NUL in
text or JSONB at all. Both are refused here, before anything is written, as 400
`invalidValue` naming the attribute. The lengths are read from the columns of the
models in service.persistence.scim_models, so the limit is declared once, where the
data is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim2_models import InvalidValueException
from sqlalchemy import FromClause

from service.persistence.base import NUL, column_length


def check_string(attribute: str, value: Any, max_length: int | None = None) -> None:
    if not isinstance(value, str):
        return
    if NUL in value:
        raise InvalidValueException(
            detail=f"{attribute} must not contain a NUL character", attribute=attribute
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidValueException(
            detail=f"{attribute} is longer than {max_length} characters", attribute=attribute
        )


def check_columns(
    table: FromClause, values: Mapping[str, Any], attributes: Mapping[str, str]
) -> None:
    """Column values (column name -> value) against their columns' lengths;
    `attributes` names the SCIM attribute each column holds, for the error."""
    for column, attribute in attributes.items():
        check_string(attribute, values.get(column), column_length(table.c[column]))


def check_document(document: Any, path: str = "", separator: str = ".") -> None:
    """No string anywhere in a stored SCIM document holds NUL, attribute names included;
    the error names the attribute by its SCIM path (an extension's attributes follow
    its URN after a colon, RFC 7644 §3.10)."""
    if isinstance(document, str):
        check_string(path or "value", document)
    elif isinstance(document, list):
        for item in document:
            check_document(item, path, separator)
    elif isinstance(document, dict):
        for key, item in document.items():
            key = str(key)
            check_string(f"an attribute name in {path or 'the resource'}", key)
            name = f"{path}{separator}{key}" if path else key
            below = ":" if not path and key.lower().startswith("urn:") else "."
            check_document(item, name, below)
