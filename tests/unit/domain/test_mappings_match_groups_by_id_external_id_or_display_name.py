"""Mappings name their group by id, externalId or displayName, before it exists."""

from __future__ import annotations

import pytest

from service.domain import (
    AccountType,
    GroupRecord,
    GroupRef,
    GroupRefKind,
    Mapping,
    MappingIndex,
    Role,
    Scope,
    ScopeTree,
    ValidationFailed,
    derive_user_assignments,
    mappings_for_group,
    validate_mapping,
)

GROUP = GroupRecord("9f1c", "Sales EMEA", "okta-00g1")


@pytest.mark.parametrize(
    ("kind", "value", "matches"),
    [
        (GroupRefKind.ID, "9f1c", True),
        (GroupRefKind.ID, "okta-00g1", False),
        (GroupRefKind.EXTERNAL_ID, "okta-00g1", True),
        (GroupRefKind.DISPLAY_NAME, "sales emea", True),
        (GroupRefKind.DISPLAY_NAME, "Sales", False),
    ],
)
def test_a_reference_matches_by_its_own_kind_only(kind: GroupRefKind, value: str, matches: bool):
    assert GroupRef(kind, value).matches(GROUP) is matches


def test_an_index_finds_the_same_mappings_as_a_scan():
    mappings = [
        Mapping("m3", GroupRef(GroupRefKind.DISPLAY_NAME, "SALES emea"), "viewer", "org"),
        Mapping("m1", GroupRef(GroupRefKind.ID, "9f1c"), "viewer", "org"),
        Mapping("m2", GroupRef(GroupRefKind.EXTERNAL_ID, "okta-00g1"), "viewer", "org"),
        Mapping("m4", GroupRef(GroupRefKind.ID, "other"), "viewer", "org"),
    ]

    found = MappingIndex(mappings).for_group(GROUP)

    assert [m.id for m in found] == ["m1", "m2", "m3"]
    assert found == mappings_for_group(mappings, GROUP)


def test_a_mapping_made_before_its_group_exists_takes_effect_when_the_group_arrives():
    tree = ScopeTree([Scope("org", "organization", "Org")])
    roles = {"viewer": Role("viewer", "Viewer")}
    mapping = Mapping("m1", GroupRef(GroupRefKind.DISPLAY_NAME, "Sales EMEA"), "viewer", "org")

    before = derive_user_assignments("u", tree=tree, roles=roles, mappings=[mapping])
    after = derive_user_assignments(
        "u",
        tree=tree,
        roles=roles,
        mappings=[mapping],
        direct_group_ids=["9f1c"],
        groups={"9f1c": GROUP},
    )

    assert before.assignments == ()
    assert [(a.role_key, a.mapping_id) for a in after.assignments] == [("viewer", "m1")]


def test_a_group_kind_outside_scim_s_three_is_refused():
    with pytest.raises(ValidationFailed) as err:
        GroupRef("email", "x")  # type: ignore[arg-type]

    assert err.value.field == "group.kind"


def test_a_mapping_is_validated_against_roles_and_scopes():
    tree = ScopeTree(
        [
            Scope("org", "organization", "Org"),
            Scope("acct", "account", "Acct", "org", AccountType.CUSTOMER),
        ]
    )
    roles = {"acct_role": Role("acct_role", "Acct", allowed_scope_types=frozenset({"account"}))}
    ref = GroupRef(GroupRefKind.ID, "g")

    validate_mapping(Mapping("ok", ref, "acct_role", "acct", assign_account=True), roles, tree)
    with pytest.raises(ValidationFailed) as unknown_role:
        validate_mapping(Mapping("m", ref, "nope", "acct"), roles, tree)
    with pytest.raises(ValidationFailed) as wrong_type:
        validate_mapping(Mapping("m", ref, "acct_role", "org"), roles, tree)
    with pytest.raises(ValidationFailed) as unknown_scope:
        validate_mapping(Mapping("m", ref, "acct_role", "gone"), roles, tree)

    assert unknown_role.value.field == "role_key"
    assert wrong_type.value.code == "scope_type_not_allowed"
    assert unknown_scope.value.code == "unknown_scope"


def test_assign_account_needs_an_account_scope():
    tree = ScopeTree([Scope("org", "organization", "Org")])
    roles = {"viewer": Role("viewer", "Viewer")}

    with pytest.raises(ValidationFailed) as err:
        validate_mapping(
            Mapping("m", GroupRef(GroupRefKind.ID, "g"), "viewer", "org", assign_account=True),
            roles,
            tree,
        )

    assert (err.value.code, err.value.field) == ("not_an_account", "assign_account")
