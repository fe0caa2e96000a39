"""A tenant's permission model as domain objects, loaded from its rows and reused
while its version is unchanged.

Building the model of a large tenant (10,000 scopes) takes a noticeable part of a
millisecond per thousand scopes; recomputing thousands of users must not rebuild
it for each. Every change to the model bumps ``permission_settings.model_version``
in its own transaction (:func:`bump_model_version`), so a snapshot keyed by
``(tenant_id, version)`` is valid for as long as that version is current.

Two rules keep the cache honest:

- a snapshot is cached only when the version read before loading equals the
  version read after it, so a change committed while the rows were being read
  never lands under the older number;
- a session that has itself changed the model (and not committed yet) never
  caches, since a rollback would leave a snapshot of changes that never happened.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.domain import (
    SEED_001_RULES,
    AccountRules,
    AccountType,
    GroupRef,
    Mapping,
    MappingIndex,
    PermissionArea,
    Product,
    Role,
    Scope,
    ScopeTree,
)
from service.domain.permissions import RankedGrants
from service.domain.user_types import DEFAULT_TABLE, UserTypeTable
from service.persistence.permission_models import (
    AreaRow,
    MappingRow,
    PermissionSettingsRow,
    ProductRow,
    RoleRow,
    ScopeRow,
    ScopeTypeRow,
    area_from_row,
    product_from_row,
    role_from_row,
    rules_from_json,
)
from service.persistence.repositories.user_types import load_table
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation

_CHANGED_KEY = "rolecall_permission_model_changed"


@dataclass(frozen=True)
class TenantModel:
    """Everything about a tenant's permission model that is shared by all its users."""

    tenant_id: str
    version: int
    tree: ScopeTree
    products: dict[str, Product]
    default_product: str | None
    # Areas and roles by ref ("product/key"); role_ids too.
    areas: dict[str, PermissionArea]
    roles: dict[str, Role]
    mappings: tuple[Mapping, ...]
    mapping_since: dict[str, datetime]
    account_rules: AccountRules
    declared_scope_types: tuple[str, ...]
    role_ids: dict[str, str]
    # How the tenant reads SCIM userType as seed 001's four types (service.services.user_types).
    user_types: UserTypeTable = DEFAULT_TABLE
    mapping_index: MappingIndex = field(init=False, repr=False, compare=False)
    role_keys_by_id: dict[str, str] = field(init=False, repr=False, compare=False)
    # The refs of the products' default roles (one per product that has one); every
    # user's derivation reads them, so they are worked out once per loaded model.
    default_roles: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # Each role's grants as (area ref, rank), filled as users are computed against
    # this model (service.domain.permissions.compute_effective_permissions).
    ranked_grants: dict[str, RankedGrants] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping_index", MappingIndex(self.mappings))
        object.__setattr__(self, "role_keys_by_id", {v: k for k, v in self.role_ids.items()})
        defaults = (p.default_role_ref for p in self.products.values())
        object.__setattr__(self, "default_roles", tuple(r for r in defaults if r is not None))


# -- converting rows -----------------------------------------------------------


def scope_from_row(row: ScopeRow) -> Scope:
    return Scope(
        row.id,
        row.type,
        row.name,
        row.parent_id,
        None if row.account_type is None else AccountType(row.account_type),
    )


def mapping_from_row(row: MappingRow, role_key: str) -> Mapping:
    return Mapping(
        row.id,
        GroupRef(row.group_kind, row.group_value),
        role_key,
        row.scope_id,
        row.assign_account,
    )


# -- the version -----------------------------------------------------------------


def settings_row(session: Session, tenant_id: str) -> PermissionSettingsRow:
    """The tenant's settings row, created on first use."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Insert-or-ignore, so two first writers of one tenant do not collide.
    session.execute(
        insert(PermissionSettingsRow)
        .values(tenant_id=tenant_id, model_version=0)
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    row = session.get(PermissionSettingsRow, tenant_id)
    assert row is not None
    return row


def current_version(session: Session, tenant_id: str) -> int:
    version = session.scalar(
        select(PermissionSettingsRow.model_version).where(
            PermissionSettingsRow.tenant_id == tenant_id
        )
    )
    return version or 0


def bump_model_version(session: Session, tenant_id: str, *, recompute_tenant: bool = True) -> int:
    """Start a change of the tenant's model: bump its version and return the new one.

    Call it before reading the model for validation: on PostgreSQL the UPDATE
    holds the row lock until commit, so two concurrent changes of one tenant
    (say, two moves that together would make a cycle) validate one after the
    other, each against the other's result.
    """
    row = settings_row(session, tenant_id)
    session.execute(
        update(PermissionSettingsRow)
        .where(PermissionSettingsRow.tenant_id == tenant_id)
        .values(model_version=PermissionSettingsRow.model_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.info.setdefault(_CHANGED_KEY, set()).add(tenant_id)
    session.expire(row)
    # A change to the shared model can move anyone's permissions: recompute the tenant
    # after the commit (coalesced, in batches; see service.services.propagation), unless
    # the caller knows whom its change touches and records them itself.
    if recompute_tenant:
        propagation.model_changed(UnitOfWork.of(session), tenant_id)
    return current_version(session, tenant_id)


def changed_in_session(session: Session, tenant_id: str) -> bool:
    return tenant_id in session.info.get(_CHANGED_KEY, set())


# -- loading ---------------------------------------------------------------------


# From this many scopes on, a cached model is frozen out of the garbage collector.
FREEZE_FROM_SCOPES = 1000


class ModelCache:
    """A small LRU of loaded models, keyed by (tenant_id, version); thread-safe.

    The model of a large tenant is hundreds of thousands of long-lived objects (a
    10,000-scope tree, its roles and mappings), and every full collection that
    computing permissions triggers walks them all: most of a who-can page's p99 on
    such a tenant. A loaded model is immutable and holds no reference cycles, so when
    a large one is cached the process's objects are moved out of the collector's
    generations (``gc.freeze``, after a collection so no garbage is frozen); the model
    is still freed by reference counting once the cache drops it.
    """

    def __init__(self, capacity: int = 32) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int], TenantModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant_id: str, version: int) -> TenantModel | None:
        with self._lock:
            model = self._items.get((tenant_id, version))
            if model is not None:
                self._items.move_to_end((tenant_id, version))
            return model

    def put(self, model: TenantModel) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == model.tenant_id]:
                if key[1] < model.version:
                    del self._items[key]
            self._items[(model.tenant_id, model.version)] = model
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        if len(model.tree) >= FREEZE_FROM_SCOPES:
            gc.collect()
            gc.freeze()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


model_cache = ModelCache()


def load_model(session: Session, tenant_id: str, *, use_cache: bool = True) -> TenantModel:
    """The tenant's model at its current version, from the cache when possible."""
    caching = use_cache and not changed_in_session(session, tenant_id)
    version = current_version(session, tenant_id)
    if caching:
        cached = model_cache.get(tenant_id, version)
        if cached is not None:
            return cached
    model = _build(session, tenant_id, version)
    if caching and current_version(session, tenant_id) == version:
        model_cache.put(model)
    return model


def read_model(uow: UnitOfWork, tenant_id: str) -> TenantModel:
    """The tenant's model as it is now, read whole: for pages that show it (the
    console's scope tree, its roles, and the choices of its forms)."""
    with uow.reading() as session:
        return load_model(session, tenant_id)


def _build(session: Session, tenant_id: str, version: int) -> TenantModel:
    declared = tuple(
        session.scalars(
            select(ScopeTypeRow.key)
            .where(ScopeTypeRow.tenant_id == tenant_id)
            .order_by(ScopeTypeRow.key)
        )
    )
    scope_rows = session.execute(
        select(
            ScopeRow.id, ScopeRow.type, ScopeRow.name, ScopeRow.parent_id, ScopeRow.account_type
        ).where(ScopeRow.tenant_id == tenant_id)
    )
    tree = ScopeTree(
        (
            Scope(sid, stype, name, parent, None if acct is None else AccountType(acct))
            for sid, stype, name, parent, acct in scope_rows
        ),
        declared,
    )
    areas = {
        area.ref: area
        for area in map(
            area_from_row,
            session.scalars(select(AreaRow).where(AreaRow.tenant_id == tenant_id)),
        )
    }
    role_rows = list(session.scalars(select(RoleRow).where(RoleRow.tenant_id == tenant_id)))
    key_of: dict[str, str] = {}
    roles: dict[str, Role] = {}
    for row in role_rows:
        role = role_from_row(row)
        roles[role.ref] = role
        key_of[row.id] = role.ref
    role_ids = {ref: rid for rid, ref in key_of.items()}
    product_rows = list(
        session.scalars(select(ProductRow).where(ProductRow.tenant_id == tenant_id))
    )
    plain_key = {row.id: row.key for row in role_rows}
    products = {
        row.key: product_from_row(row, plain_key.get(row.default_role_id or ""))
        for row in product_rows
    }
    mapping_rows = list(
        session.scalars(select(MappingRow).where(MappingRow.tenant_id == tenant_id))
    )
    mappings = tuple(mapping_from_row(row, key_of[row.role_id]) for row in mapping_rows)
    since = {row.id: row.created_at for row in mapping_rows}
    settings = session.get(PermissionSettingsRow, tenant_id)
    rules = SEED_001_RULES
    default_product = None
    if settings is not None:
        rules = rules_from_json(settings.account_rules)
        default_product = next(
            (row.key for row in product_rows if row.id == settings.default_product_id), None
        )
    return TenantModel(
        tenant_id=tenant_id,
        version=version,
        tree=tree,
        products=products,
        default_product=default_product,
        areas=areas,
        roles=roles,
        mappings=mappings,
        mapping_since=since,
        account_rules=rules,
        declared_scope_types=declared,
        role_ids=role_ids,
        user_types=load_table(session, tenant_id),
    )
