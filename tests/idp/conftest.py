"""Request bodies as identity providers write them, kept as fixture files named after the IdP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def body(name: str, **ids: str) -> Any:
    """A fixture file, with `{placeholder}`s replaced by ids known only at test time."""
    text = (FIXTURES / f"{name}.json").read_text()
    for key, value in ids.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


# The SCIM client fixtures of tests/scim, shared rather than repeated.
from tests.scim.conftest import scim, scim_for  # noqa: E402, F401
