"""The one rule for keys that clients type: areas, roles, scope types, catalogs.

Keys appear in URLs, JSON documents, CLI arguments and Redis values, so they are
kept to lower-case ASCII that needs no quoting anywhere. Display names are
separate fields and may hold any text.
"""

from __future__ import annotations

import re

from service.domain.errors import ValidationFailed

_KEY = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,127}$")


def check_key(value: object, field: str) -> str:
    """Return ``value`` if it is a usable key, or raise naming ``field``."""
    if not isinstance(value, str) or not _KEY.match(value):
        raise ValidationFailed(
            "invalid_key",
            f"{field} must be 1-128 characters of a-z, 0-9, '_', '.', '-', "
            f"starting with a letter or digit; got {value!r}",
            field,
        )
    return value


def slug(text: str) -> str:
    """Derive a key from a display name, e.g. 'View & Manage Download Packages'."""
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return out[:128]
