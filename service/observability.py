"""Logging and request ids.

Logs are JSON lines from the standard library's logging, without terminal escape
codes. A request id is taken from `X-Request-ID` (or made) and travels into the
tasks a request causes. A filter masks anything shaped like a rolecall token or a
bearer credential, so a secret that reaches a log message by mistake is still never
written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

_request_id: ContextVar[str | None] = ContextVar("rolecall_request_id", default=None)

# One pattern, one pass over a line: rolecall tokens, invitation tokens (in the accept
# URL's path), bearer credentials and password fields. The last two keep their prefix.
_SECRETS = re.compile(
    r"rc_(?:scim|admin|read)_[A-Za-z0-9_\-]{8,}"
    r"|rci_[A-Za-z0-9_\-]{8,}"
    r"|((?i:bearer\s+))[A-Za-z0-9._~+/\-=]+"
    r'|((?i:"?password"?\s*[:=]\s*))"[^"]*"'
)


# ECMA-48 escape sequences (colours, cursor moves): a library that styles its messages for a
# terminal (werkzeug colours status codes and its startup warning) must not put them in a
# JSON line, where they are noise to every log reader.
_TERMINAL_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> str:
    request_id = value if value and len(value) <= 64 else uuid.uuid4().hex
    _request_id.set(request_id)
    return request_id


def plain(text: str) -> str:
    """`text` without terminal escape sequences."""
    return _TERMINAL_ESCAPES.sub("", text)


def redact(text: str) -> str:
    return _SECRETS.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    return (match.group(1) or match.group(2) or "") + "[redacted]"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(plain(record.getMessage())),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(plain(self.formatException(record.exc_info)))
        # Once more over the whole line, for secrets inside structured fields.
        return redact(json.dumps(entry, default=str))


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    root.setLevel(level)


def log_event(logger: logging.Logger, message: str, **fields: object) -> None:
    logger.info(message, extra={"fields": fields})
