"""The preset catalogs shipped with rolecall, written from the seeds.

Each ``<key>.json`` file beside this module is one catalog in the shape of
:meth:`service.domain.catalog.Catalog.from_dict`. They are package data, read
with importlib.resources so they load the same from a source tree, a wheel or a
zip. Loading one into a tenant is planned by
:func:`service.domain.catalog.plan_catalog_load`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from service.domain.catalog import Catalog
from service.domain.errors import NotFound, ValidationFailed

__all__ = ["available", "load", "load_all"]

_SUFFIX = ".json"


def available() -> tuple[str, ...]:
    """The keys of the shipped catalogs, sorted."""
    files = resources.files(__name__)
    return tuple(
        sorted(f.name.removesuffix(_SUFFIX) for f in files.iterdir() if f.name.endswith(_SUFFIX))
    )


@cache
def load(key: str) -> Catalog:
    """The catalog ``key``; parsed once per process, since the files never change."""
    if key not in available():
        raise NotFound(
            "not_found",
            f"no catalog {key!r} (available: {', '.join(available())})",
            "catalog",
        )
    raw = resources.files(__name__).joinpath(key + _SUFFIX).read_text(encoding="utf-8")
    catalog = Catalog.from_dict(json.loads(raw))
    if catalog.key != key:
        raise ValidationFailed(
            "invalid_value", f"catalog file {key}{_SUFFIX} declares key {catalog.key!r}", "key"
        )
    return catalog


def load_all() -> dict[str, Catalog]:
    return {key: load(key) for key in available()}
