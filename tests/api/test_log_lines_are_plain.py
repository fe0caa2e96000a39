"""A JSON log line carries no terminal escape codes, whoever styled the message."""

from __future__ import annotations

import json
import logging
import sys

from service.observability import JsonFormatter


def _formatted(message: str, *args: object) -> str:
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, message, args, None)
    return JsonFormatter().format(record)


def test_werkzeug_s_coloured_status_line_is_written_plain() -> None:
    line = _formatted('"%s" %s -', "\x1b[33mGET /favicon.ico HTTP/1.1\x1b[0m", 404)
    assert "\x1b" not in line and "\\u001b" not in line
    assert json.loads(line)["message"] == '"GET /favicon.ico HTTP/1.1" 404 -'


def test_a_bold_red_warning_keeps_its_words_and_lines() -> None:
    line = _formatted("\x1b[31m\x1b[1mWARNING: dev server\x1b[0m\n * Running on http://x")
    assert json.loads(line)["message"] == "WARNING: dev server\n * Running on http://x"


def test_an_exception_s_text_is_written_plain_too() -> None:
    try:
        raise ValueError("\x1b[1mbold\x1b[0m")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bold" in entry["exception"] and "\x1b" not in entry["exception"]
