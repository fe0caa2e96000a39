"""Shared bits of the admin API's list endpoints."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class QuerySchema(Schema):
    """Filters of a list endpoint.

    Unknown query parameters are left to the other parsers of the same query
    string (flask-smorest's page and page_size), hence EXCLUDE.
    """

    class Meta:
        unknown = EXCLUDE
