"""Shared bits of the admin API's list endpoints."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# The highest page number any list accepts (422 beyond it): its offset, at the largest
# page size, stays far inside a 64-bit integer on every database.
MAX_PAGE = 1_000_000_000


class QuerySchema(Schema):
    """Filters of a list endpoint.

    Unknown query parameters are left to the other parsers of the same query
    string (flask-smorest's page and page_size), hence EXCLUDE.
    """

    class Meta:
        unknown = EXCLUDE


def page_field() -> fields.Integer:
    """The page number of a list that pages in its own query schema (flask-smorest's
    paginated lists are bounded by the same MAX_PAGE in service.http.smorest)."""
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
