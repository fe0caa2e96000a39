"""Mappings: "members of IdP group G get role R at scope S".

A mapping names its group by SCIM id, externalId or displayName, not by a foreign
key, so that an admin can set it up before the IdP pushes the group; it takes
effect when a group that matches arrives. displayName is compared without regard
to case because IdPs and admins disagree on capitalisation ("Sales EMEA" vs
"sales emea") far more often than they mean two different groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from service.domain.errors import ValidationFailed
from service.domain.groups import GroupRecord
from service.domain.roles import Role, check_grantable
from service.domain.scopes import ScopeTree


class GroupRefKind(StrEnum):
    ID = "id"
    EXTERNAL_ID = "externalId"
    DISPLAY_NAME = "displayName"


@dataclass(frozen=True, slots=True)
class GroupRef:
    kind: GroupRefKind
    value: str

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", GroupRefKind(self.kind))
        except ValueError:
            kinds = ", ".join(k.value for k in GroupRefKind)
            raise ValidationFailed(
                "invalid_value", f"group kind must be one of {kinds}", "group.kind"
            ) from None
        if not self.value:
            raise ValidationFailed(
                "invalid_value", "a group reference needs a value", "group.value"
            )

    def matches(self, group: GroupRecord) -> bool:
        if self.kind is GroupRefKind.ID:
            return group.id == self.value
        if self.kind is GroupRefKind.EXTERNAL_ID:
            return group.external_id is not None and group.external_id == self.value
        return group.display_name.casefold() == self.value.casefold()

    def describe(self) -> str:
        return f"{self.kind.value} {self.value!r}"


@dataclass(frozen=True, slots=True)
class Mapping:
    """Members of ``group`` get ``role_key`` at ``scope_id``.

    With ``assign_account`` the members are also made members of the account at
    ``scope_id``, subject to seed 001's account rules; when that is refused, the
    role is not granted either (see :mod:`service.domain.assignments`).
    """

    id: str
    group: GroupRef
    role_key: str
    scope_id: str
    assign_account: bool = False

    def matches(self, group: GroupRecord) -> bool:
        return self.group.matches(group)


def validate_mapping(mapping: Mapping, roles: dict[str, Role], tree: ScopeTree) -> None:
    """Raise, naming the field, unless ``mapping`` could take effect in this tenant."""
    role = roles.get(mapping.role_key)
    if role is None:
        raise ValidationFailed(
            "unknown_role", f"role {mapping.role_key!r} does not exist", "role_key"
        )
    scope = check_grantable(role, mapping.scope_id, tree)
    if mapping.assign_account and not scope.is_account:
        raise ValidationFailed(
            "not_an_account",
            f"assign_account needs an account scope; {scope.id!r} is a {scope.type}",
            "assign_account",
        )


class MappingIndex:
    """Mappings indexed by how they name their group, for O(1) matching per group."""

    __slots__ = ("_by_display_name", "_by_external_id", "_by_id")

    def __init__(self, mappings: Iterable[Mapping]) -> None:
        self._by_id: dict[str, list[Mapping]] = {}
        self._by_external_id: dict[str, list[Mapping]] = {}
        self._by_display_name: dict[str, list[Mapping]] = {}
        for m in sorted(mappings, key=lambda m: m.id):
            if m.group.kind is GroupRefKind.ID:
                self._by_id.setdefault(m.group.value, []).append(m)
            elif m.group.kind is GroupRefKind.EXTERNAL_ID:
                self._by_external_id.setdefault(m.group.value, []).append(m)
            else:
                self._by_display_name.setdefault(m.group.value.casefold(), []).append(m)

    def for_group(self, group: GroupRecord) -> list[Mapping]:
        """The mappings that apply to ``group``, in mapping-id order."""
        found = list(self._by_id.get(group.id, ()))
        if group.external_id is not None:
            found.extend(self._by_external_id.get(group.external_id, ()))
        found.extend(self._by_display_name.get(group.display_name.casefold(), ()))
        found.sort(key=lambda m: m.id)
        return found


def mappings_for_group(mappings: Iterable[Mapping], group: GroupRecord) -> list[Mapping]:
    """The mappings that apply to ``group``; see :class:`MappingIndex` for many groups."""
    return sorted((m for m in mappings if m.matches(group)), key=lambda m: m.id)
