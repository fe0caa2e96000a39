"""How long computing one user's effective permissions takes, against baselines.

The scenario from issue 5: a user in 50 groups (40 direct, 10 more through
nesting), each group mapped to a role somewhere in a tree of 10,000 scopes, plus
the tenant's default role. Roles come from three shipped catalogs, including
seed 002's System Administrator (120 areas), so the merge has real work to do.

Machines here drift 3-7% between runs (see ../shared/BENCHMARKS.md), so the
figures that matter are the ratios to two baselines measured in the same run:

- dict merge: merging the very same (scope, area, level) grants into a dict of
  dicts with "max wins", with no domain objects at all: the floor for this work;
- tree walk: touching each of the 10,000 scopes once, which is the least that any
  approach materialising inherited grants at every descendant would pay.

Run: .venv/bin/python bench/bench_effective_permissions.py [--runs N]
Prints one figure per line and exits 0; it never fails on speed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

from service.catalogs import load
from service.domain import (
    AccountType,
    GroupGraph,
    GroupRecord,
    GroupRef,
    GroupRefKind,
    Mapping,
    Scope,
    ScopeTree,
    compute_effective_permissions,
    derive_user_assignments,
)

TARGET_MS = 5.0
SCOPES = 10_000


def build_scopes() -> list[Scope]:
    """1 organization, 20 producer accounts, 100 workspaces, 900 folders, reports."""
    scopes = [Scope("org", "organization", "Org")]
    accounts = [f"acct-{i}" for i in range(20)]
    scopes += [Scope(a, "account", a, "org", AccountType.PRODUCER) for a in accounts]
    workspaces = [f"ws-{i}" for i in range(100)]
    scopes += [Scope(w, "workspace", w, accounts[i // 5]) for i, w in enumerate(workspaces)]
    folders = [f"folder-{i}" for i in range(900)]
    scopes += [Scope(f, "folder", f, workspaces[i // 9]) for i, f in enumerate(folders)]
    reports = SCOPES - len(scopes)
    scopes += [Scope(f"report-{i}", "report", f"r{i}", folders[i % 900]) for i in range(reports)]
    return scopes


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    for _ in range(max(5, runs // 10)):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def line(name: str, samples: list[float]) -> float:
    samples = sorted(samples)
    median = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(
        f"{name}: min {samples[0]:.3f} ms, median {median:.3f} ms, "
        f"p95 {p95:.3f} ms, max {samples[-1]:.3f} ms"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    runs = parser.parse_args().runs
    rng = random.Random(5)

    catalogs = [load("licensing-portal"), load("data-platform"), load("reporting")]
    areas = {a.key: a for c in catalogs for a in c.areas}
    roles = {r.key: r for c in catalogs for r in c.roles}

    scopes = build_scopes()
    tree = ScopeTree(scopes)
    by_type: dict[str, list[str]] = {}
    for s in scopes:
        by_type.setdefault(s.type, []).append(s.id)

    # 40 direct groups, 10 parents each containing 4 of them: 50 groups in all.
    direct = [f"g-{i}" for i in range(40)]
    parents = [f"g-{40 + i}" for i in range(10)]
    graph = GroupGraph((direct[i], parents[i // 4]) for i in range(40))
    groups = {g: GroupRecord(g, f"Group {g}", f"ext-{g}") for g in (*direct, *parents)}
    producer_roles = [
        r.key for r in catalogs[0].roles if r.allowed_account_types == {AccountType.PRODUCER}
    ]
    plans = (
        [(rng.choice(producer_roles), "account") for _ in range(10)]
        + [("system_administrator", "account")]
        + [(rng.choice(["creator", "viewer", "dashboard_manager"]), "workspace") for _ in range(19)]
        + [(rng.choice(["view", "edit", "share", "manage"]), "folder") for _ in range(12)]
        + [(rng.choice(["view", "edit"]), "report") for _ in range(8)]
    )
    kinds = [GroupRefKind.ID, GroupRefKind.EXTERNAL_ID, GroupRefKind.DISPLAY_NAME]
    mappings = []
    for i, (group, (role_key, scope_type)) in enumerate(
        zip((*direct, *parents), plans, strict=True)
    ):
        kind = kinds[i % 3]
        value = {
            GroupRefKind.ID: group,
            GroupRefKind.EXTERNAL_ID: f"ext-{group}",
            GroupRefKind.DISPLAY_NAME: f"group {group}".upper(),
        }[kind]
        scope_id = rng.choice(by_type[scope_type])
        # Mappings at accounts also make the user a member (seed 001: a grant inside an
        # account the user is not in grants nothing, which is not what is measured here).
        mappings.append(
            Mapping(
                f"m-{i:02d}",
                GroupRef(kind, value),
                role_key,
                scope_id,
                assign_account=scope_type == "account",
            )
        )

    def derive():
        return derive_user_assignments(
            "user-1",
            tree=tree,
            roles=roles,
            direct_group_ids=direct,
            groups=groups,
            graph=graph,
            mappings=mappings,
            default_roles=["view"],
        )

    derived = derive()
    assignments = derived.assignments

    def compute():
        return compute_effective_permissions(
            assignments, roles, areas, tree, accounts=derived.account_ids
        )

    def full():
        again = derive()
        return compute_effective_permissions(
            again.assignments, roles, areas, tree, accounts=again.account_ids
        )

    perms = compute()
    triples = [
        (a.scope_id, area_key, areas[area_key].rank(level))
        for a in assignments
        if roles[a.role_key].is_grantable_at(tree.get(a.scope_id), tree)
        for area_key, level in roles[a.role_key].grants.items()
    ]

    def dict_merge():
        merged: dict[str, dict[str, int]] = {}
        for scope_id, area_key, rank in triples:
            at = merged.setdefault(scope_id, {})
            if rank > at.get(area_key, -1):
                at[area_key] = rank
        return merged

    def tree_walk():
        parent_of = {}
        for s in scopes:
            parent_of[s.id] = s.parent_id
        return parent_of

    deep = "report-8000"
    ancestors = tree.ancestors(deep)

    def lookups():
        for _ in range(1000):
            perms.level_at(deep, "view", ancestors)

    payload = json.dumps(perms.to_dict(), separators=(",", ":"))

    print(f"scopes in tree: {len(tree)}")
    print(f"groups (direct + nested): {len(direct)} + {len(parents)}")
    print(f"assignments: {len(assignments)} (mapped + default)")
    print(f"grants merged: {len(triples)}")
    print(f"scopes holding grants in the result: {len(perms.scopes)}")
    print(f"cached JSON size: {len(payload)} bytes")
    line(
        "ScopeTree from 10,000 scopes (once per tenant snapshot)",
        timed(lambda: ScopeTree(scopes), max(20, runs // 10)),
    )
    full_ms = line("effective permissions from groups (derive + compute)", timed(full, runs))
    compute_ms = line("effective permissions from assignments (compute only)", timed(compute, runs))
    merge_ms = line("baseline: plain dict merge of the same grants", timed(dict_merge, runs))
    walk_ms = line("baseline: walk the 10,000-scope tree once", timed(tree_walk, runs))
    line("to_dict + json.dumps of the result", timed(lambda: json.dumps(perms.to_dict()), runs))
    lookup_us = statistics.median(timed(lookups, max(20, runs // 10)))  # ms per 1000 = µs each
    print(f"level_at on a scope {len(ancestors)} levels deep: {lookup_us:.3f} us per lookup")
    print(f"ratio derive+compute / dict merge: {full_ms / merge_ms:.2f}")
    print(f"ratio compute only / dict merge: {compute_ms / merge_ms:.2f}")
    print(f"ratio derive+compute / tree walk: {full_ms / walk_ms:.2f}")
    print(
        f"target: under {TARGET_MS:.1f} ms; median derive+compute {full_ms:.3f} ms "
        f"({'met' if full_ms < TARGET_MS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
