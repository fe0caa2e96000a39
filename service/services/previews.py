"""What if: previews of permission-moving changes, their staged apply, and the brake
on mass revocation.

A *change* is one of the admin operations that move permissions, named by its kind,
with the body its endpoint takes (validated by that endpoint's own schema, in
service.http.admin.previews.schemas): ``mapping.create``, ``mapping.update``,
``mapping.delete``, ``role.update``, ``scope.update`` (``scope.move``),
``scope.delete``, ``assignment.create``, ``assignment.delete``, ``product.update``,
``settings.update`` (the default product's default role and the account rules).
Each is applied by the use case its endpoint calls; nothing here restates what a
change does.

Evaluating a change, in one unit of work:

1. who may be affected, over-approximated, before applying it (a delete removes the
   rows that connect the users): :mod:`service.services.affected`;
2. their sets before, by :func:`~service.services.effective.compute_many`;
3. the change applied by its use case, and their sets after, from the changed model;
4. per user, the gains, losses and account conflicts, by the pure
   :func:`service.domain.changes.diff_user`.

A preview does this inside :meth:`UnitOfWork.dry_run`, which always rolls the change
back (its outbox rows, audit events, effects and model-version bump with it), and
stores the result; a staged apply runs it for real, and refuses (409
``preview_stale``) when the tenant's model moved since the preview or when the
result differs from what was reviewed (assignments and group memberships do not
move the model version, so the result is compared too).

Every admin endpoint of these kinds goes through :func:`apply_change`, which adds the
brake: a change that would take access from more users than the tenant's
:class:`~service.domain.changes.RevocationBrake` allows is refused (409
``mass_revocation``, with the counts) unless confirmed; both outcomes are audited.
When fewer users may be affected than the brake's ``max_users``, no one can trip it
and the change is applied with no extra computation. SCIM writes never come here:
the IdP is the source of truth and deprovisioning takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.domain import (
    Conflict,
    DomainError,
    GroupRef,
    GroupRefKind,
    NotFound,
    ValidationFailed,
    resolve_ref,
)
from service.domain.changes import AccessDiff, RevocationBrake, diff_user
from service.persistence.base import utcnow
from service.persistence.permission_models import AssignmentRow, PermissionSettingsRow
from service.persistence.preview_models import PreviewRow
from service.persistence.scim_models import ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import (
    assignments,
    mappings,
    permission_settings,
    products,
    roles,
    scopes,
)
from service.services.affected import (
    users_affected_by_mapping,
    users_affected_by_role,
    users_affected_by_scope,
    users_holding_anything,
    users_holding_at,
)
from service.services.effective import (
    UserPermissionResult,
    compute_many,
    compute_under,
    resolve_user_ref,
)
from service.services.permission_model import TenantModel, current_version, load_model

PREVIEW_LIFETIME = timedelta(days=1)
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

Body = dict[str, Any]


# -- the kinds of change -------------------------------------------------------------


@dataclass(frozen=True)
class ChangeKind:
    """How one kind of change is applied (its endpoint's use case), whom it may
    affect, and which scopes it names (breakpoints of the diff: moved, deleted)."""

    name: str
    apply: Callable[[UnitOfWork, str, Body, str], Any]
    affected: Callable[[Session, str, Body, TenantModel], set[str]]
    scopes_named: Callable[[Body, TenantModel], tuple[str, ...]] = field(
        default=lambda body, model: ()
    )
    # A change of the model alone leaves every user's own rows (groups, direct
    # assignments) as they were, so both sides are computed from one read of them.
    model_only: bool = True


def _without(body: Body, *keys: str) -> Body:
    return {k: v for k, v in body.items() if k not in keys}


def _group(data: Body) -> GroupRef:
    return GroupRef(GroupRefKind(data["kind"]), str(data["value"]).strip())


def _mapping_group(model: TenantModel, mapping_id: str) -> GroupRef | None:
    found = next((m for m in model.mappings if m.id == mapping_id), None)
    return None if found is None else found.group


def _mapping_create_affected(
    session: Session, tenant_id: str, body: Body, _: TenantModel
) -> set[str]:
    return users_affected_by_mapping(session, tenant_id, _group(body["group"]))


def _mapping_change_affected(
    session: Session, tenant_id: str, body: Body, model: TenantModel
) -> set[str]:
    groups = [_mapping_group(model, body["mapping_id"])]
    if body.get("group") is not None:
        groups.append(_group(body["group"]))
    users: set[str] = set()
    for group in groups:
        if group is not None:
            users |= users_affected_by_mapping(session, tenant_id, group)
    return users


def _role_affected(session: Session, tenant_id: str, body: Body, model: TenantModel) -> set[str]:
    try:
        ref = resolve_ref(body["role"], body.get("product"), model.roles, "role")
    except DomainError:
        return set()  # the use case refuses it, naming the field
    return users_affected_by_role(session, tenant_id, ref, model)


def _scope_update_affected(
    session: Session, tenant_id: str, body: Body, model: TenantModel
) -> set[str]:
    scope_id = body["scope_id"]
    if scope_id not in model.tree:
        return set()
    users = users_affected_by_scope(session, tenant_id, scope_id, model)
    new_parent = body.get("parent_id")
    if "parent_id" in body and new_parent != model.tree.parent(scope_id):
        # What is granted above the old and the new place stops or starts reaching
        # the moved subtree.
        above = set(model.tree.ancestors(scope_id))
        if new_parent is not None and new_parent in model.tree:
            above |= {new_parent, *model.tree.ancestors(new_parent)}
        users |= users_holding_at(session, tenant_id, above, model)
    return users


def _scope_update_named(body: Body, model: TenantModel) -> tuple[str, ...]:
    scope_id = body["scope_id"]
    if scope_id not in model.tree:
        return ()
    named = [scope_id]
    for parent in (model.tree.parent(scope_id), body.get("parent_id")):
        if parent is not None:
            named.append(parent)
    return tuple(named)


def _scope_delete_affected(
    session: Session, tenant_id: str, body: Body, model: TenantModel
) -> set[str]:
    if body["scope_id"] not in model.tree:
        return set()
    return users_affected_by_scope(session, tenant_id, body["scope_id"], model)


def _assignment_create_affected(
    session: Session, tenant_id: str, body: Body, _: TenantModel
) -> set[str]:
    try:
        return {resolve_user_ref(session, tenant_id, body["user"])}
    except NotFound:
        return set()


def _assignment_delete_affected(
    session: Session, tenant_id: str, body: Body, _: TenantModel
) -> set[str]:
    user_id = session.scalar(
        select(AssignmentRow.user_id).where(
            AssignmentRow.tenant_id == tenant_id, AssignmentRow.id == body["assignment_id"]
        )
    )
    return set() if user_id is None else {user_id}


def _product_affected(session: Session, tenant_id: str, body: Body, model: TenantModel) -> set[str]:
    # Only the default role moves permissions: it lands wherever a user holds another
    # role of the product (service.domain.assignments).
    if "default_role" not in body:
        return set()
    return users_holding_anything(session, tenant_id, model)


def _settings_affected(
    session: Session, tenant_id: str, body: Body, model: TenantModel
) -> set[str]:
    # The default product's default role and the account rules move permissions (the
    # default lands wherever a user holds a role; account rules bind every grant); the
    # default product itself and the brake move none.
    if "default_role" not in body and "account_rules" not in body:
        return set()
    return users_holding_anything(session, tenant_id, model)


def _update_scope(uow: UnitOfWork, tenant_id: str, body: Body, actor: str) -> Any:
    return scopes.update_scope(uow, tenant_id, body["scope_id"], _without(body, "scope_id"), actor)


KINDS: dict[str, ChangeKind] = {
    kind.name: kind
    for kind in (
        ChangeKind(
            "mapping.create",
            lambda uow, t, body, actor: mappings.create_mapping(uow, t, body, actor),
            _mapping_create_affected,
        ),
        ChangeKind(
            "mapping.update",
            lambda uow, t, body, actor: mappings.update_mapping(
                uow, t, body["mapping_id"], _without(body, "mapping_id"), actor
            ),
            _mapping_change_affected,
        ),
        ChangeKind(
            "mapping.delete",
            lambda uow, t, body, actor: mappings.delete_mapping(uow, t, body["mapping_id"], actor),
            _mapping_change_affected,
        ),
        ChangeKind(
            "role.update",
            lambda uow, t, body, actor: roles.update_role(
                uow, t, body["role"], _without(body, "role", "product"), actor, body.get("product")
            ),
            _role_affected,
        ),
        ChangeKind("scope.update", _update_scope, _scope_update_affected, _scope_update_named),
        ChangeKind("scope.move", _update_scope, _scope_update_affected, _scope_update_named),
        ChangeKind(
            "scope.delete",
            lambda uow, t, body, actor: scopes.delete_scope(
                uow, t, body["scope_id"], cascade=bool(body.get("cascade")), actor=actor
            ),
            _scope_delete_affected,
            lambda body, model: (body["scope_id"],),
            model_only=False,  # a cascade deletes the assignments held in the subtree
        ),
        ChangeKind(
            "assignment.create",
            lambda uow, t, body, actor: assignments.create_assignment(uow, t, actor=actor, **body),
            _assignment_create_affected,
            model_only=False,
        ),
        ChangeKind(
            "assignment.delete",
            lambda uow, t, body, actor: assignments.delete_assignment(
                uow, t, body["assignment_id"], actor
            ),
            _assignment_delete_affected,
            model_only=False,
        ),
        ChangeKind(
            "product.update",
            lambda uow, t, body, actor: products.update_product(
                uow, t, body["product"], _without(body, "product"), actor
            ),
            _product_affected,
        ),
        ChangeKind(
            "settings.update",
            lambda uow, t, body, actor: permission_settings.update_settings(
                uow, t, actor=actor, **body
            ),
            _settings_affected,
        ),
    )
}


def kind_of(name: str) -> ChangeKind:
    kind = KINDS.get(name)
    if kind is None:
        raise ValidationFailed(
            "invalid_value", f"kind must be one of {', '.join(sorted(KINDS))}", "kind"
        )
    return kind


# -- evaluating a change ---------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """A change's effect: counts first, then one row per user whose access or account
    conflicts it changes (sorted by user id), and what its use case returned."""

    version: int
    counts: dict[str, int]
    users: list[dict[str, Any]]
    result: Any = None


def _row(
    user_id: str, before: UserPermissionResult, after: UserPermissionResult, diff: AccessDiff
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "user_name": after.user_name or before.user_name,
        "gained": [c.to_dict() for c in diff.gained],
        "lost": [c.to_dict() for c in diff.lost],
        "conflicts_appearing": [c.to_dict() for c in diff.conflicts_appearing],
        "conflicts_resolving": [c.to_dict() for c in diff.conflicts_resolving],
    }


def _evaluate(
    uow: UnitOfWork,
    tenant_id: str,
    kind: ChangeKind,
    body: Body,
    actor: str,
    model: TenantModel,
    affected: set[str],
    *,
    dry: bool,
) -> Evaluation:
    session = uow.session
    version = current_version(session, tenant_id)
    users = sorted(affected)
    named = kind.scopes_named(body, model)
    before = None if kind.model_only else compute_many(session, tenant_id, users, model)
    rows: list[dict[str, Any]] = []
    counts = dict.fromkeys(
        ("users_gaining", "users_losing", "conflicts_appearing", "conflicts_resolving"), 0
    )
    with uow.dry_run() if dry else nullcontext():
        result = kind.apply(uow, tenant_id, body, actor)
        session.flush()
        changed = load_model(session, tenant_id, use_cache=False)
        # The same tree object on both sides tells the diff the tree did not change.
        after_tree = model.tree if set(model.tree) == set(changed.tree) else changed.tree
        if before is None:
            pairs: Iterable[tuple[str, tuple[UserPermissionResult, ...]]] = compute_under(
                session, tenant_id, users, model, changed
            )
        else:
            pairs = (
                (uid, (before[uid], after))
                for uid, (after,) in compute_under(session, tenant_id, users, changed)
            )
        # Diffed as each batch is computed, so only the rows that changed are kept.
        for uid, (old, new) in pairs:
            diff = diff_user(
                old.permissions,
                old.assignments.conflicts,
                model.tree,
                new.permissions,
                new.assignments.conflicts,
                after_tree,
                named,
            )
            if not diff.changed:
                continue
            counts["users_gaining"] += bool(diff.gained)
            counts["users_losing"] += bool(diff.lost)
            counts["conflicts_appearing"] += len(diff.conflicts_appearing)
            counts["conflicts_resolving"] += len(diff.conflicts_resolving)
            rows.append(_row(uid, old, new, diff))
    return Evaluation(version, {"users_considered": len(users), **counts}, rows, result)


# -- the brake ---------------------------------------------------------------------


class MassRevocation(Conflict):
    """An admin change would take access from more users than the tenant allows."""

    def __init__(self, counts: dict[str, int], brake: RevocationBrake, active: int) -> None:
        super().__init__(
            "mass_revocation",
            f"this change takes access from {counts['users_losing']} of {active} active "
            f"users, more than the tenant's brake allows ({brake.max_users} users and "
            f"{brake.max_share:.0%}); repeat it with confirm=true to apply it",
            "confirm",
            {"counts": counts, "brake": brake.to_dict(), "active_users": active,
             "hint": "pass confirm=true to apply it"},
        )  # fmt: skip
        self.counts = counts


def brake_of(session: Session, tenant_id: str) -> RevocationBrake:
    raw = session.scalar(
        select(PermissionSettingsRow.revocation_brake).where(
            PermissionSettingsRow.tenant_id == tenant_id
        )
    )
    return RevocationBrake.from_dict(raw)


def _active_users(session: Session, tenant_id: str) -> int:
    return (
        session.scalar(
            select(func.count(ScimUser.id)).where(
                ScimUser.tenant_id == tenant_id, ScimUser.active.is_(True)
            )
        )
        or 0
    )


def _check_brake(
    uow: UnitOfWork,
    tenant_id: str,
    kind: ChangeKind,
    body: Body,
    actor: str,
    brake: RevocationBrake,
    counts: dict[str, int],
    confirm: bool,
) -> None:
    active = _active_users(uow.session, tenant_id)
    if not brake.holds(counts["users_losing"], active):
        return
    if not confirm:
        raise MassRevocation(counts, brake, active)
    uow.audit.record(
        tenant_id,
        actor,
        "mass_revocation.confirmed",
        "change",
        kind.name,
        after={"kind": kind.name, "change": body, "counts": counts, "active_users": active},
    )


@contextmanager
def _refusals_audited(
    uow: UnitOfWork, tenant_id: str, kind: ChangeKind, body: Body, actor: str
) -> Iterator[None]:
    """A refusal rolls the change's unit back; its audit event commits in a unit of
    its own, so the log shows that the change was tried and held."""
    try:
        yield
    except MassRevocation as held:
        with uow:
            uow.audit.record(
                tenant_id,
                actor,
                "mass_revocation.refused",
                "change",
                kind.name,
                after={"kind": kind.name, "change": body, "counts": held.counts},
            )
        raise


def apply_change(
    uow: UnitOfWork,
    tenant_id: str,
    kind_name: str,
    body: Body,
    actor: str,
    *,
    confirm: bool = False,
) -> Any:
    """Apply an admin change by its use case, through the brake; returns what the use
    case returns. ``body`` is what the kind's endpoint schema loaded."""
    kind = kind_of(kind_name)
    with _refusals_audited(uow, tenant_id, kind, body, actor), uow:
        session = uow.session
        brake = brake_of(session, tenant_id)
        model = load_model(session, tenant_id)
        affected = kind.affected(session, tenant_id, body, model)
        if not brake.can_trip(len(affected)):
            return kind.apply(uow, tenant_id, body, actor)
        evaluation = _evaluate(uow, tenant_id, kind, body, actor, model, affected, dry=False)
        _check_brake(uow, tenant_id, kind, body, actor, brake, evaluation.counts, confirm)
        return evaluation.result


# -- stored previews and their staged apply ------------------------------------------


def describe_preview(row: PreviewRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "change": row.change,
        "version": row.model_version,
        "counts": row.counts,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "applied_at": row.applied_at,
    }


def page_of(
    rows: list[dict[str, Any]], cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The rows after ``cursor`` (a user id; rows are sorted by user id), and the
    cursor of the next page (None on the last)."""
    start = 0
    if cursor:
        start = next((i for i, r in enumerate(rows) if r["user_id"] > cursor), len(rows))
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    return page, (page[-1]["user_id"] if more and page else None)


def create_preview(
    uow: UnitOfWork, tenant_id: str, kind_name: str, body: Body, actor: str
) -> PreviewRow:
    """Evaluate the change without applying it, and keep the result for review and a
    staged apply. Bad input is refused as the change's own endpoint refuses it."""
    kind = kind_of(kind_name)
    with uow:
        session = uow.session
        model = load_model(session, tenant_id)
        affected = kind.affected(session, tenant_id, body, model)
        evaluation = _evaluate(uow, tenant_id, kind, body, actor, model, affected, dry=True)
        now = utcnow()
        # Expired previews are kept for a lifetime more (applying one answers 409
        # preview_expired rather than 404), then go; the audit log keeps what was applied.
        session.execute(
            delete(PreviewRow).where(
                PreviewRow.tenant_id == tenant_id,
                PreviewRow.expires_at < now - PREVIEW_LIFETIME,
            )
        )
        row = PreviewRow(
            tenant_id=tenant_id,
            kind=kind.name,
            change=body,
            model_version=evaluation.version,
            counts=evaluation.counts,
            users=evaluation.users,
            created_by=actor,
            created_at=now,
            expires_at=now + PREVIEW_LIFETIME,
        )
        session.add(row)
        session.flush()
        return row


def _preview_row(
    session: Session, tenant_id: str, preview_id: str, *, lock: bool = False
) -> PreviewRow:
    query = select(PreviewRow).where(PreviewRow.tenant_id == tenant_id, PreviewRow.id == preview_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("not_found", f"no preview {preview_id!r}", "preview_id")
    return row


def get_preview(uow: UnitOfWork, tenant_id: str, preview_id: str) -> PreviewRow:
    with uow.reading() as session:
        return _preview_row(session, tenant_id, preview_id)


def preview_users(
    uow: UnitOfWork, tenant_id: str, preview_id: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    with uow.reading() as session:
        return page_of(_preview_row(session, tenant_id, preview_id).users, cursor, limit)


def scope_names(uow: UnitOfWork, tenant_id: str) -> dict[str, str]:
    """Scope names by id, to show a preview's entries to people."""
    with uow.reading() as session:
        return {s.id: s.name for s in load_model(session, tenant_id).tree}


def describe_entry(entry: dict[str, Any], names: dict[str, str]) -> str:
    """One entry of a preview's row, for people: "reporting/edit granted -> none at
    Folder 2 and below (except Report 2)"."""
    where = names.get(entry["scope_id"], entry["scope_id"])
    if entry["below"]:
        where = f"below {where}"
        if entry["except_below"]:
            skipped = ", ".join(names.get(s, s) for s in entry["except_below"])
            where += f" (except under {skipped})"
    else:
        where = f"at {where}"
    return (
        f"{entry['area']} {entry['from_level'] or 'none'} -> {entry['to_level'] or 'none'} {where}"
    )


def table(users: list[dict[str, Any]], names: dict[str, str]) -> list[tuple[str, str, str]]:
    """A preview's user rows as table lines: (user, gained/lost/conflict, what); the
    user is named on its first line only."""
    lines: list[tuple[str, str, str]] = []
    for row in users:
        shown = row["user_name"] or row["user_id"]
        entries = [
            *(("gained", describe_entry(e, names)) for e in row["gained"]),
            *(("lost", describe_entry(e, names)) for e in row["lost"]),
            *(("+conflict", c["message"]) for c in row["conflicts_appearing"]),
            *(("-conflict", c["message"]) for c in row["conflicts_resolving"]),
        ]
        for i, (direction, what) in enumerate(entries):
            lines.append((shown if i == 0 else "", direction, what))
    return lines


def _comparable(users: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    # A renamed user is the same user: compare what the change does, not names.
    return [
        (u["user_id"], u["gained"], u["lost"], u["conflicts_appearing"], u["conflicts_resolving"])
        for u in users
    ]


def apply_preview(
    uow: UnitOfWork,
    tenant_id: str,
    preview_id: str,
    actor: str,
    *,
    confirm: bool = False,
    now: datetime | None = None,
) -> PreviewRow:
    """Apply a previewed change, exactly as reviewed: 409 ``preview_stale`` when the
    model moved since or the change would now do something else, 409
    ``preview_applied`` / ``preview_expired`` otherwise; through the brake."""
    with uow.reading() as session:
        stored = _preview_row(session, tenant_id, preview_id)
        kind, body = kind_of(stored.kind), stored.change
    with _refusals_audited(uow, tenant_id, kind, body, actor), uow:
        session = uow.session
        row = _preview_row(session, tenant_id, preview_id, lock=True)
        if row.applied_at is not None:
            raise Conflict(
                "preview_applied", f"preview {preview_id!r} was applied already", "preview_id"
            )
        if (now or utcnow()) >= row.expires_at:
            raise Conflict(
                "preview_expired",
                f"preview {preview_id!r} has expired; preview the change again",
                "preview_id",
            )
        version = current_version(session, tenant_id)
        if version != row.model_version:
            raise Conflict(
                "preview_stale",
                f"the tenant's permission model moved since the preview (version "
                f"{row.model_version}, now {version}); preview the change again",
                "preview_id",
                {"previewed_version": row.model_version, "current_version": version},
            )
        model = load_model(session, tenant_id)
        affected = kind.affected(session, tenant_id, row.change, model)
        evaluation = _evaluate(uow, tenant_id, kind, row.change, actor, model, affected, dry=False)
        if _comparable(evaluation.users) != _comparable(row.users):
            raise Conflict(
                "preview_stale",
                "the change would now do something else than the preview shows (users, "
                "groups or assignments changed since); preview the change again",
                "preview_id",
                {"previewed_counts": row.counts, "current_counts": evaluation.counts},
            )
        _check_brake(
            uow,
            tenant_id,
            kind,
            row.change,
            actor,
            brake_of(session, tenant_id),
            evaluation.counts,
            confirm,
        )
        row.applied_at = now or utcnow()
        uow.audit.record(
            tenant_id, actor, "preview.apply", "preview", row.id,
            after={"kind": row.kind, "change": row.change, "counts": row.counts},
        )  # fmt: skip
        session.flush()
        return row
