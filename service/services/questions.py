"""Questions over the whole model: who can do an area at a level at a scope, and where
can one user do it, each with the chains that grant the answer.

Both answers come from the one computation of effective permissions
(:func:`service.services.effective.compute_many`) and from
:func:`service.domain.explain.explain` on its result, never from a second reading of
the rules: a user is in a who-can answer exactly when ``EffectivePermissions.allows``
says so, and a where-can entry is a grant in the user's computed set.

Who-can does not compute every user of the tenant. The model says which grants could
reach the scope (roles granting the area at the level, held at the scope or, for roles
that reach descendants, above it; the product's default role where it may land); their
holders are *candidates*, read with indexed SQL in user id order, a superset of the
answer. Each batch of candidates is then decided by the computation, which applies
account rules, fences and deactivation. Paging is by keyset over candidate ids, so
between two pages a user who did not change is neither skipped nor repeated, whatever
else changed; a page that reaches its deadline answers what it confirmed so far and
says so, with the cursor to go on.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, union_all
from sqlalchemy.orm import Session

from service.domain import (
    BadRequest,
    Chain,
    GroupRef,
    NotFound,
    PermissionArea,
    ScopeTree,
    ValidationFailed,
    resolve_ref,
)
from service.persistence.permission_models import AssignmentRow
from service.persistence.repositories.scim import groups_within, members_after
from service.persistence.unit_of_work import UnitOfWork
from service.services.affected import groups_matching
from service.services.effective import (
    UserPermissionResult,
    compute_many,
    compute_user_permissions,
    explain_result,
    resolve_user_ref,
)
from service.services.permission_model import TenantModel, load_model

__all__ = [
    "MAX_LIMIT",
    "CandidateBatch",
    "WhereCanEntry",
    "WhereCanPage",
    "WhoCanEntry",
    "WhoCanPage",
    "candidate_batch",
    "where_can",
    "who_can",
]

MAX_LIMIT = 1000
# The most candidates decided in one round: a bound on the work done between two
# looks at the deadline.
_MAX_BATCH = 1000

Clock = Callable[[], float]


@dataclass(frozen=True)
class WhoCanEntry:
    """One user who holds at least the asked level of the area at the scope."""

    user_id: str
    user_name: str
    external_id: str
    level: str  # the level the user holds there (at least the one asked)
    chains: tuple[Chain, ...]  # every chain that grants it, as explain finds them
    # Display names of the groups the chains pass through, by group id.
    group_names: Mapping[str, str] = field(default_factory=dict)
    # Each chain in words, with scope paths and group names (Chain.describe).
    described: tuple[str, ...] = ()


@dataclass(frozen=True)
class WhoCanPage:
    scope_id: str
    area: str  # the area's ref, product/key
    level: str
    entries: tuple[WhoCanEntry, ...]
    next_cursor: str | None  # None only when the enumeration is complete
    complete: bool  # False when more may follow (page full, or deadline reached)
    deadline_reached: bool  # True when the page stopped early because of the deadline


@dataclass(frozen=True)
class WhereCanEntry:
    """A scope where the user holds at least the asked level.

    With ``subtree``, the entry stands for the scope and everything below it, except
    the scopes in ``except_below`` and everything below those (accounts the user is
    not in, where inherited grants stop: seed 001's fences).
    """

    scope_id: str
    scope_name: str
    scope_type: str
    level: str  # the level held at that scope
    subtree: bool
    except_below: tuple[str, ...]
    chains: tuple[Chain, ...]
    group_names: Mapping[str, str] = field(default_factory=dict)
    path: str = ""  # the scope's path of names from the root, for people reading it
    described: tuple[str, ...] = ()


@dataclass(frozen=True)
class WhereCanPage:
    user_id: str
    area: str
    level: str
    entries: tuple[WhereCanEntry, ...]
    next_cursor: str | None
    complete: bool
    expanded: bool = False


# -- shared checks ------------------------------------------------------------------


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            "invalid_value", f"limit must be between 1 and {MAX_LIMIT}, not {limit}", "limit"
        )


def _area(model: TenantModel, area: str, product: str | None, level: str) -> PermissionArea:
    """The area the caller names (a ref, or a key of ``product`` or of the one product
    that has it), checked to have ``level``."""
    if product is not None and product not in model.products:
        raise NotFound("not_found", f"no product {product!r}", "product")
    found = model.areas.get(resolve_ref(area, product, model.areas))
    if found is None:
        where = "" if product is None else f" in product {product!r}"
        raise NotFound("not_found", f"no area {area!r}{where}", "area")
    found.rank(level, "level")
    return found


# -- cursors ----------------------------------------------------------------------


def _write_cursor(question: str, key: Sequence[object], after: object) -> str:
    raw = json.dumps({"q": question, "k": list(key), "a": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor() -> BadRequest:
    return BadRequest("invalid_cursor", "cursor is not one this service gave", "cursor")


def _read_cursor(cursor: str | None, question: str, key: Sequence[object]) -> object | None:
    """The position a cursor holds, checked to come from this very question (a cursor
    of another scope, area or level would skip or repeat users)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except ValueError:  # binascii.Error and UnicodeDecodeError among them
        raise _bad_cursor() from None
    if not isinstance(data, dict) or data.get("q") != question or "a" not in data:
        raise _bad_cursor()
    if data.get("k") != list(key):
        raise BadRequest(
            "invalid_cursor",
            "cursor was given for another question: ask again with the parameters "
            "of the page it came from",
            "cursor",
        )
    return data["a"]


# -- who can --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sources:
    """What makes a user a candidate for one question: a mapping naming one of their
    groups, or a direct assignment, of a role that could grant it from where it is held."""

    group_refs: tuple[GroupRef, ...]
    direct: ColumnElement[bool]


def _sources(model: TenantModel, scope_id: str, area: PermissionArea, wanted: int) -> _Sources:
    """The grants that could give ``area`` at rank ``wanted`` at ``scope_id``: a
    superset, which the computation then decides. Roles at the scope itself; roles that
    reach descendants at its ancestors; and where the product's default role grants it,
    any role of that product and any account membership at those places (that is where
    the default lands)."""
    above = frozenset(model.tree.ancestors(scope_id))
    granting = {
        ref
        for ref, role in model.roles.items()
        if role.product == area.product
        and (lv := role.grants.get(area.key)) is not None
        and area.has_level(lv)
        and area.rank(lv) >= wanted
    }
    here = set(granting)
    below = {ref for ref in granting if model.roles[ref].reaches_descendants}
    account_here = account_above = False
    for default in model.default_roles:
        if default not in granting:
            continue
        product = model.roles[default].product
        placing = {ref for ref, role in model.roles.items() if role.product == product}
        here |= placing
        account_here = True
        if model.roles[default].reaches_descendants:
            below |= placing
            account_above = True

    def could_grant(role_key: str, at: str, assigns_account: bool) -> bool:
        if at == scope_id:
            return role_key in here or (assigns_account and account_here)
        return at in above and (role_key in below or (assigns_account and account_above))

    refs = tuple(
        dict.fromkeys(
            m.group for m in model.mappings if could_grant(m.role_key, m.scope_id, m.assign_account)
        )
    )
    ids = model.role_ids
    conditions: list[ColumnElement[bool]] = []
    here_ids = [ids[r] for r in sorted(here) if r in ids]
    below_ids = [ids[r] for r in sorted(below) if r in ids]
    if here_ids:
        conditions.append(
            and_(AssignmentRow.scope_id == scope_id, AssignmentRow.role_id.in_(here_ids))
        )
    if below_ids and above:
        conditions.append(
            and_(AssignmentRow.scope_id.in_(sorted(above)), AssignmentRow.role_id.in_(below_ids))
        )
    account_scopes = ([scope_id] if account_here else []) + (sorted(above) if account_above else [])
    if account_scopes:
        conditions.append(
            and_(AssignmentRow.assign_account.is_(True), AssignmentRow.scope_id.in_(account_scopes))
        )
    return _Sources(refs, or_(*conditions) if conditions else false())


def _groups_of(session: Session, tenant_id: str, sources: _Sources) -> list[str]:
    """The groups whose members are candidates: those the mappings name, and every
    group nested in them (their members are members too). Read once per page."""
    if not sources.group_refs:
        return []
    return groups_within(session, tenant_id, groups_matching(tenant_id, sources.group_refs))


def _candidate_query(
    tenant_id: str, sources: _Sources, groups: list[str], after: str | None, size: int
) -> Select[tuple[str]]:
    """The next ``size`` candidate rows after ``after``, in the database's order of user
    ids (one order for the comparison and the sort, so keyset paging is exact). A user
    reached twice comes twice, side by side: UNION ALL lets the database merge two
    index-ordered reads and stop at ``size``, where UNION would read them whole."""
    direct = select(AssignmentRow.user_id.label("user_id")).where(
        AssignmentRow.tenant_id == tenant_id, sources.direct
    )
    if after is not None:
        direct = direct.where(AssignmentRow.user_id > after)
    parts: list[Select[tuple[str]]] = [direct]
    if groups:
        parts.append(members_after(groups, after))
    rows = union_all(*parts).subquery("candidates")
    return select(rows.c.user_id).order_by(rows.c.user_id).limit(size)


@dataclass(frozen=True)
class CandidateBatch:
    ids: list[str]  # distinct candidate user ids, in order
    end: str | None  # the last row read (a nested group's id, maybe), to go on after
    last: bool  # no rows follow
    rows: int = 0  # rows read (a user in two candidate groups is two rows)


def _next_candidates(
    session: Session,
    tenant_id: str,
    sources: _Sources,
    groups: list[str],
    after: str | None,
    size: int,
) -> CandidateBatch:
    """The next distinct candidate ids after ``after``, and where the rows read ended."""
    rows = list(session.scalars(_candidate_query(tenant_id, sources, groups, after, size)))
    # Members that are groups nested in the candidate groups are not users.
    nested = set(groups)
    ids = [uid for uid in dict.fromkeys(rows) if uid not in nested]
    return CandidateBatch(ids, rows[-1] if rows else None, len(rows) < size, len(rows))


def candidate_batch(
    session: Session,
    tenant_id: str,
    model: TenantModel,
    scope_id: str,
    area: PermissionArea,
    level: str,
    *,
    after: str | None = None,
    size: int = 1000,
) -> CandidateBatch:
    """The next candidates of a who-can question after ``after``, undecided: what the
    indexed SQL alone reads (the baseline a benchmark compares who-can with)."""
    sources = _sources(model, scope_id, area, area.rank(level))
    groups = _groups_of(session, tenant_id, sources)
    return _next_candidates(session, tenant_id, sources, groups, after, size)


def _batch_size(wanted: int, previous: CandidateBatch | None, confirmed: int) -> int:
    """How many candidate rows to read for ``wanted`` more users: a little over what is
    missing at first; then as many as the last batch's share of users holding the grant
    (and of rows per user) says are needed, so that a page of a thousand does not
    decide a thousand more users to find its last hundred."""
    if previous is None or not previous.ids:
        estimate = wanted * 1.25
    else:
        held = max(confirmed / len(previous.ids), 1 / 8)
        estimate = wanted * (previous.rows / len(previous.ids)) / held * 1.25
    return min(_MAX_BATCH, int(estimate) + 4)


def _who_entry(
    result: UserPermissionResult,
    model: TenantModel,
    scope_id: str,
    area_ref: str,
    level: str,
) -> WhoCanEntry:
    names = result.group_names
    why = explain_result(result, model, area_ref, level, scope_id)
    held = result.permissions.level_at(scope_id, area_ref, model.tree)
    assert held is not None  # the caller checked allows()
    return WhoCanEntry(
        user_id=result.user_id,
        user_name=result.user_name,
        external_id=result.external_id,
        level=held,
        chains=why.granting,
        group_names=_names_in(why.granting, names),
        described=tuple(c.describe(model.tree, names) for c in why.granting),
    )


def _names_in(chains: Sequence[Chain], names: Mapping[str, str]) -> dict[str, str]:
    return {g: names[g] for c in chains for g in c.via_groups if g in names}


def who_can(
    uow: UnitOfWork,
    tenant_id: str,
    scope_id: str,
    area: str,
    level: str,
    *,
    product: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
    deadline_s: float | None = None,
    clock: Clock = time.monotonic,
) -> WhoCanPage:
    """Every user holding at least ``level`` of ``area`` at ``scope_id``, directly or
    inherited, in user id order, ``limit`` at a time, each with the chains granting it.

    ``deadline_s`` bounds the work of one page (None: none): once it has passed, the
    page answers the users confirmed so far with ``deadline_reached`` and the cursor
    to go on. At least one batch of candidates is decided per page, so following the
    cursors always gets to the end.
    """
    _check_limit(limit)
    started = clock()
    with uow.reading() as session:
        model = load_model(session, tenant_id)
        the_area = _area(model, area, product, level)
        if scope_id not in model.tree:
            raise NotFound("not_found", f"scope {scope_id!r} does not exist", "scope_id")
        ref = the_area.ref
        key = (scope_id, ref, level)
        after = _read_cursor(cursor, "who-can", key)
        if after is not None and not isinstance(after, str):
            raise _bad_cursor()
        sources = _sources(model, scope_id, the_area, the_area.rank(level))
        groups = _groups_of(session, tenant_id, sources)
        entries: list[WhoCanEntry] = []
        exhausted = deadline_reached = False
        batch: CandidateBatch | None = None
        confirmed = 0
        while len(entries) < limit:
            size = _batch_size(limit - len(entries), batch, confirmed)
            batch = _next_candidates(session, tenant_id, sources, groups, after, size)
            confirmed = 0
            results = compute_many(session, tenant_id, batch.ids, model) if batch.ids else {}
            for uid in batch.ids:
                after = uid
                result = results[uid]
                if result.permissions.allows(scope_id, ref, level, model.tree):
                    entries.append(_who_entry(result, model, scope_id, ref, level))
                    confirmed += 1
                    if len(entries) == limit:
                        break
            if not batch.ids or after == batch.ids[-1]:
                # Every row read was decided: go on after the last, user or not, so
                # that a batch of nested groups' rows alone still moves the cursor.
                after = batch.end if batch.end is not None else after
                if batch.last:
                    exhausted = True
                    break
            full = len(entries) == limit
            if deadline_s is not None and not full and clock() - started >= deadline_s:
                deadline_reached = True
                break
    return WhoCanPage(
        scope_id=scope_id,
        area=ref,
        level=level,
        entries=tuple(entries),
        next_cursor=None if exhausted else _write_cursor("who-can", key, after),
        complete=exhausted,
        deadline_reached=deadline_reached,
    )


# -- where can ------------------------------------------------------------------------


_OrderKey = tuple[tuple[str, ...], str]


def _order_key(tree: ScopeTree, scope_id: str) -> _OrderKey:
    # By the path of names from the root, then id: a stable order people can read.
    return (tuple(s.name for s in tree.path(scope_id)), scope_id)


def _where_after(after: object) -> _OrderKey | None:
    """The position a where-can cursor holds, as written by ``_order_key`` (JSON
    turned its tuples into lists)."""
    if after is None:
        return None
    if (
        isinstance(after, list)
        and len(after) == 2
        and isinstance(after[0], list)
        and all(isinstance(n, str) for n in after[0])
        and isinstance(after[1], str)
    ):
        return (tuple(after[0]), after[1])
    raise BadRequest("invalid_cursor", "cursor is not one this service gave", "cursor")


def _fences_below(tree: ScopeTree, scope_id: str, fences: frozenset[str]) -> tuple[str, ...]:
    """The fences below ``scope_id`` with no other fence between them and it: where its
    inherited grants stop (what is below a deeper fence is below these too)."""
    below = [f for f in fences if f in tree and tree.is_ancestor(scope_id, f)]
    top = [f for f in below if not any(tree.is_ancestor(other, f) for other in below)]
    return tuple(sorted(top, key=lambda f: _order_key(tree, f)))


def where_can(
    uow: UnitOfWork,
    tenant_id: str,
    user_ref: str,
    area: str,
    level: str,
    *,
    product: str | None = None,
    expand: bool = False,
    cursor: str | None = None,
    limit: int = 100,
) -> WhereCanPage:
    """Every scope where the user holds at least ``level`` of ``area``.

    A grant that holds below its scope is one entry, "this scope and everything
    below it" (``subtree``), except below the fences it stops at; ``expand`` lists
    every single scope instead. Entries come in the order of their path of names,
    ``limit`` at a time.
    """
    _check_limit(limit)
    with uow.reading() as session:
        user_id = resolve_user_ref(session, tenant_id, user_ref)
        model = load_model(session, tenant_id)
        the_area = _area(model, area, product, level)
        result = compute_user_permissions(session, tenant_id, user_id, model)
    ref = the_area.ref
    key = (user_id, ref, level, expand)
    after = _where_after(_read_cursor(cursor, "where-can", key))
    tree = model.tree
    perms = result.permissions
    wanted = the_area.rank(level)
    places: list[tuple[str, bool]] = []
    if expand:
        places = [(sid, False) for sid in perms.scopes_allowing(ref, level, tree)]
    else:
        for sid, grants in perms.scopes.items():
            grant = grants.get(ref)
            if grant is None or sid not in tree or the_area.rank(grant.level) < wanted:
                continue
            below = grant.descendant_level
            subtree = (
                below is not None and the_area.rank(below) >= wanted and sid not in perms.fences
            )
            places.append((sid, subtree))
    keyed = sorted(((_order_key(tree, sid), sid, subtree) for sid, subtree in places))
    if after is not None:
        keyed = [p for p in keyed if p[0] > after]
    page = keyed[:limit]
    more = len(keyed) > limit
    names = result.group_names
    entries: list[WhereCanEntry] = []
    for _, sid, subtree in page:
        why = explain_result(result, model, ref, level, sid)
        scope = tree.get(sid)
        held = perms.level_at(sid, ref, tree)
        assert held is not None
        entries.append(
            WhereCanEntry(
                scope_id=sid,
                scope_name=scope.name,
                scope_type=scope.type,
                level=held,
                subtree=subtree,
                except_below=_fences_below(tree, sid, perms.fences) if subtree else (),
                chains=why.granting,
                group_names=_names_in(why.granting, names),
                path=tree.path_names(sid),
                described=tuple(c.describe(tree, names) for c in why.granting),
            )
        )
    return WhereCanPage(
        user_id=user_id,
        area=ref,
        level=level,
        entries=tuple(entries),
        next_cursor=_write_cursor("where-can", key, page[-1][0]) if more else None,
        complete=not more,
        expanded=expand,
    )
