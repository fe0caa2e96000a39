"""The layers import downwards only, with no import cycle (DESIGN.md): domain ←
persistence and cache ← services ← http and scim, worker ← app and cli. Imports made
inside functions count: one moved into a function to dodge a cycle is still one."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = ("service", "worker")

# What each layer may import from the project besides itself (and the leaf modules
# every layer shares: settings, observability, metrics).
SHARED = {"service", "service.settings", "service.observability", "service.metrics"}
MAY_IMPORT = {
    "service.domain": set(),
    "service.persistence": {"service.domain"},
    "service.cache": {"service.domain"},
    "service.runtime": {"service.domain", "service.persistence", "service.cache"},
    "service.services": {
        "service.domain", "service.persistence", "service.cache", "service.runtime",
        "service.mail", "service.catalogs",
    },
    "worker": {
        "service.domain", "service.persistence", "service.cache", "service.runtime",
        "service.services", "service.mail",
    },
}  # fmt: skip


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module's imports of other project modules, wherever in it they are made."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        graph[name] = {
            found
            for found in map(resolve, targets)
            # A module importing its own package (or a parent) is not an edge.
            if found and found != name and not name.startswith(found + ".")
        }
    return graph


def _layer(module: str) -> str | None:
    return next((layer for layer in MAY_IMPORT if module == layer or
                 module.startswith(layer + ".")), None)  # fmt: skip


def _a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (the modules around it), or [] when there is none."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(error.args[1])
    return []


def test_the_cycle_finder_finds_a_cycle_and_passes_a_chain() -> None:
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) != []
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_module_of_service_or_worker_is_in_an_import_cycle() -> None:
    assert _a_cycle(_imports(_modules())) == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for module, imported in _imports(_modules()).items():
        layer = _layer(module)
        if layer is None:
            continue  # app, cli, wiring, http, scim: the top may import anything
        below = MAY_IMPORT[layer]
        wrong += [
            f"{module} imports {target}"
            for target in sorted(imported)
            if target not in SHARED
            and _layer(target) != layer
            and not any(target == b or target.startswith(b + ".") for b in below)
        ]
    assert wrong == []
