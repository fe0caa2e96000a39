"""The permission model, in plain Python: no web framework, no database, no cache.

Read it in this order: ``scopes`` (where), ``products`` (whose), ``areas`` (what,
and how much), ``roles`` (bundles of both), ``groups`` and ``mappings`` (IdP groups
to roles), ``accounts`` (seed 001's membership rules), ``assignments`` (who holds
which role where, derived), ``permissions`` (the effective set that is cached), ``explain``
(why), ``catalog`` (presets). Everything a caller needs is re-exported here.
"""

from service.domain.accounts import (
    DIRECT,
    SEED_001_RULES,
    AccountConflict,
    AccountRequest,
    AccountResolution,
    AccountRules,
    ConflictRule,
    Coverage,
    Origin,
    UserType,
    account_clash,
    resolve_account_assignments,
)
from service.domain.areas import GRANTED, ON_OFF_LEVELS, PermissionArea, index_areas
from service.domain.assignments import (
    Assignment,
    AssignmentSource,
    RefusedAssignment,
    UserAssignments,
    derive_user_assignments,
    mapped_account_requests,
)
from service.domain.catalog import Catalog, CatalogLoadPlan, plan_catalog_load
from service.domain.errors import BadRequest, Conflict, DomainError, NotFound, ValidationFailed
from service.domain.explain import Chain, Explanation, Outcome, RefusedChain, explain
from service.domain.groups import GroupGraph, GroupRecord, transitive_groups
from service.domain.mappings import (
    GroupRef,
    GroupRefKind,
    Mapping,
    MappingIndex,
    mappings_for_group,
    validate_mapping,
)
from service.domain.permissions import (
    AreaGrant,
    EffectivePermissions,
    compute_effective_permissions,
)
from service.domain.products import DEFAULT_PRODUCT, Product, qualify, resolve_ref, split_ref
from service.domain.roles import Role, check_grantable, index_roles
from service.domain.scopes import (
    BUILTIN_SCOPE_TYPES,
    AccountType,
    DeletePlan,
    Scope,
    ScopeTree,
)

__all__ = [
    "BUILTIN_SCOPE_TYPES",
    "DEFAULT_PRODUCT",
    "DIRECT",
    "GRANTED",
    "ON_OFF_LEVELS",
    "SEED_001_RULES",
    "AccountConflict",
    "AccountRequest",
    "AccountResolution",
    "AccountRules",
    "AccountType",
    "AreaGrant",
    "Assignment",
    "AssignmentSource",
    "BadRequest",
    "Catalog",
    "CatalogLoadPlan",
    "Chain",
    "Conflict",
    "ConflictRule",
    "Coverage",
    "DeletePlan",
    "DomainError",
    "EffectivePermissions",
    "Explanation",
    "GroupGraph",
    "GroupRecord",
    "GroupRef",
    "GroupRefKind",
    "Mapping",
    "MappingIndex",
    "NotFound",
    "Origin",
    "Outcome",
    "PermissionArea",
    "Product",
    "RefusedAssignment",
    "RefusedChain",
    "Role",
    "Scope",
    "ScopeTree",
    "UserAssignments",
    "UserType",
    "ValidationFailed",
    "account_clash",
    "check_grantable",
    "compute_effective_permissions",
    "derive_user_assignments",
    "explain",
    "index_areas",
    "index_roles",
    "mapped_account_requests",
    "mappings_for_group",
    "plan_catalog_load",
    "qualify",
    "resolve_account_assignments",
    "resolve_ref",
    "split_ref",
    "transitive_groups",
    "validate_mapping",
]
