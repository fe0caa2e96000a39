"""flask-smorest, as rolecall uses it: every admin and read Blueprint comes from here.

The parser (flask-smorest's documented `ARGUMENTS_PARSER` extension point) reads JSON
through Flask's JSON provider, so a document nested too deep is a 400 decided in one
place (service.http.limits), and refuses NUL in any string of any location with a 422
naming the field. The paging parser also bounds the page number, so no page turns
into an offset past 64 bits. The Api documents the error body the app really sends
(service.http.errors) and X-Pagination as the JSON string it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from service.http.admin.paging import MAX_PAGE
from service.http.limits import nul_errors


class Parser(FlaskParser):
    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        if not is_json_request(req) or not req.get_data(cache=True):
            return core.missing
        # Flask's JSON provider: malformed or too deep is its 400 (BadRequest).
        return req.get_json(force=True)

    def pre_load(
        self, location_data: Mapping[str, Any], *, schema: ma.Schema, req: Request, location: str
    ) -> Mapping[str, Any]:
        errors = nul_errors(location_data if location == "json" else _raw(location_data))
        if errors:
            raise ma.ValidationError(errors)
        return location_data


class PagingParser(Parser):
    def pre_load(
        self, location_data: Mapping[str, Any], *, schema: ma.Schema, req: Request, location: str
    ) -> Mapping[str, Any]:
        location_data = super().pre_load(location_data, schema=schema, req=req, location=location)
        if _as_int(location_data.get("page")) > MAX_PAGE:
            raise ma.ValidationError({"page": [f"Must be less than or equal to {MAX_PAGE}."]})
        return location_data


def _as_int(raw: Any) -> int:
    """The integer the schema will read from `raw`, or 0 when it will refuse it itself."""
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def _raw(location_data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every value of a query, form or header mapping, repeated keys included."""
    lists = getattr(location_data, "data", location_data)
    if hasattr(lists, "lists"):
        return dict(lists.lists())
    return dict(lists)


PAGINATION_HEADER = {
    "description": "Pagination metadata, as a JSON object in a string: total, total_pages, "
    "first_page, last_page, page, previous_page, next_page",
    "schema": {"type": "string"},
}


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
    PAGINATION_ARGUMENTS_PARSER = PagingParser()

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        # flask-smorest's documented override point: its own document says X-Pagination
        # is an object, while the header it sends is JSON in a string.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = PAGINATION_HEADER


class ErrorSchema(ma.Schema):
    """The admin and read API error body (service.http.errors.api_error)."""

    code = ma.fields.Integer(metadata={"description": "The HTTP status code"})
    status = ma.fields.String(metadata={"description": "The HTTP status phrase"})
    message = ma.fields.String(metadata={"description": "What went wrong"})
    reason = ma.fields.String(
        metadata={"description": "A stable code for the kind of error, when there is one"}
    )
    errors = ma.fields.Dict(
        metadata={
            "description": "Field -> messages, under the location (json, query) for malformed input"
        }
    )
    details = ma.fields.Dict(
        metadata={
            "description": "Structured data about the error, when there is some (an account "
            "rule's 409: the account it collides with and where that came from)"
        }
    )


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
