"""Limits on what a request may hold, each decided in one place for every surface.

- The body size is Flask's MAX_CONTENT_LENGTH (set in the app factory from
  `settings.max_request_bytes`): werkzeug answers 413 before a view reads the body.
- JSON depth: `JSONProvider.loads` turns the RecursionError of a document nested
  deeper than Python's recursion limit into the ValueError Flask's `get_json` answers
  400 for; every JSON body the app reads goes through it (the webargs parser too,
  service.http.blueprint).
- NUL in a string (`nul_errors`): no database column may hold one (PostgreSQL refuses
  it outright), so it is refused on input, naming where it was.
- NUL in a path segment (`PathSegmentConverter`): no route matches, so the answer is
  the router's 404, on every surface, before a view runs.
- String lengths (`fits`): a schema field takes its bound from the model column it
  fills, so the number lives where the data is declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask.json.provider import DefaultJSONProvider
from marshmallow import validate
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.routing import UnicodeConverter

from service.persistence.base import NUL, column_length

NUL_MESSAGE = "Must not contain NUL."

# Free text stored in a column without a length (TEXT): long enough for any real
# description, short enough that nobody stores megabytes through a form field.
FREE_TEXT_MAX = 10_000


def fits(column: InstrumentedAttribute[Any], *, min: int = 0) -> validate.Length:
    """A marshmallow length validator bounded by the model column's declared length."""
    length = column_length(column)
    if length is None:
        raise TypeError(f"{column} has no declared length; bound it with FREE_TEXT_MAX")
    return validate.Length(min=min, max=length)


def free_text() -> validate.Length:
    return validate.Length(max=FREE_TEXT_MAX)


def nul_errors(data: Any) -> dict[Any, Any]:
    """Marshmallow-shaped errors (field -> ... -> [message]) for every string in `data`
    (a parsed JSON document or a query's mapping) that holds NUL, keys included.

    Walked with an explicit stack: a document just under the JSON depth limit would
    overflow a recursive walk."""
    errors: dict[Any, Any] = {}

    def report(path: tuple[Any, ...]) -> None:
        node = errors
        for step in path[:-1]:
            node = node.setdefault(step, {})
            if not isinstance(node, dict):  # already reported higher up
                return
        node.setdefault(path[-1], [NUL_MESSAGE])

    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                report(path or ("_schema",))
        elif isinstance(value, Mapping):
            for key in value:
                if isinstance(key, str) and NUL in key:
                    report((*path, key.replace(NUL, "\\u0000")))
                else:
                    stack.append(((*path, key), value[key]))
        elif isinstance(value, list | tuple):
            stack.extend(((*path, index), item) for index, item in enumerate(value))
    return errors


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with a document nested too deep made a bad request."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            # Flask's get_json answers a ValueError with 400 (on_json_loading_failed).
            raise ValueError("the JSON document is nested too deeply") from None


class PathSegmentConverter(UnicodeConverter):
    """werkzeug's default path segment, without NUL: an id holding one matches no
    route (404) instead of reaching a query the database refuses (a 500)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]", 1)
