"""The domain stays plain Python: no framework, database, cache or queue imports.

Checked on the source (AST), not by importing, so an import hidden inside a
function or behind ``if TYPE_CHECKING`` is caught too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "service" / "domain"
FORBIDDEN = {
    "flask",
    "flask_smorest",
    "sqlalchemy",
    "alembic",
    "redis",
    "celery",
    "pydantic",
    "marshmallow",
    "requests",
    "psycopg",
    "fakeredis",
}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


MODULES = sorted(DOMAIN.rglob("*.py"))


def test_the_domain_package_has_modules_to_check():
    assert len(MODULES) > 5


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_a_domain_module_imports_only_the_standard_library_and_the_domain(path: Path):
    for name in imported_modules(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}"
        assert top in sys.stdlib_module_names or name.startswith("service.domain"), (
            f"{path.name} imports {name}, which is neither standard library nor service.domain"
        )
