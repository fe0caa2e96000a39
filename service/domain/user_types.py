"""Seed 001's four user types, read from what identity providers send as SCIM `userType`.

"A user belongs to one of four types": Customer, Producer, Partner and Self-Registered
Users. SCIM's `userType` is free text (RFC 7643 §4.1.1: "Contractor", "Employee",
"Intern" ...), and every IdP fills it its own way: Okta and OneLogin pass whatever the
admin typed, Entra ID sends "Member" or "Guest". A tenant's :class:`UserTypeTable`
turns those values into the four types:

- the defaults (:data:`DEFAULT_SPELLINGS`) cover the usual spellings of the four
  names, with or without "user(s)" after them, compared ignoring case, spaces,
  hyphens and underscores (:func:`value_key`): "Customer", "partner users",
  "Self-Registered", "self_registered", "SelfRegistered";
- the tenant adds its own values ("Member" -> customer, "Guest" -> partner), which may
  also re-point a default spelling, but never one of the four names themselves: a
  value that *names* a type is that type;
- anything else is *unmapped*: the user has no type (only the account rules that do
  not depend on the type apply), and the value is kept and shown, never dropped.

Entra's Member/Guest are deliberately not defaults: what a directory's members are
(producer staff? customers?) is the tenant's to say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from service.domain.accounts import UserType
from service.domain.errors import ValidationFailed

_IGNORED = re.compile(r"[\s_\-]+")


def value_key(value: str) -> str:
    """What two spellings of one userType have in common: case, spaces, hyphens and
    underscores ignored ("Self-Registered", "self_registered" -> "selfregistered")."""
    return _IGNORED.sub("", value.casefold())


# The four names themselves, as keys: a value that names a type is always that type.
NAMED: Mapping[str, UserType] = {value_key(t.value): t for t in UserType}

# Seed 001's names of the types ("Customer Users" ... are its Manage Users tabs).
LABELS: Mapping[UserType, str] = {
    UserType.CUSTOMER: "Customer",
    UserType.PRODUCER: "Producer",
    UserType.PARTNER: "Partner",
    UserType.SELF_REGISTERED: "Self-Registered",
}


class TypeStatus(StrEnum):
    """How a user's userType was read: it names one of the four types (`mapped`), it
    names none of them (`unmapped`, kept and shown), or the IdP sent none (`absent`)."""

    MAPPED = "mapped"
    UNMAPPED = "unmapped"
    ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class UserTypeReading:
    """One user's userType as sent (`raw`) and what the tenant's table makes of it."""

    raw: str | None
    user_type: UserType | None
    status: TypeStatus

    @property
    def unmapped(self) -> bool:
        return self.status is TypeStatus.UNMAPPED

    def to_dict(self) -> dict[str, str | None]:
        return {
            "user_type": None if self.user_type is None else self.user_type.value,
            "user_type_raw": self.raw,
            "user_type_status": self.status.value,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """A userType value, as written, and the type it stands for."""

    value: str
    user_type: UserType


DEFAULT_SPELLINGS: Mapping[str, Entry] = {
    value_key(spelling): Entry(spelling, user_type)
    for user_type, label in LABELS.items()
    for spelling in (label, f"{label} User", f"{label} Users")
}


@dataclass(frozen=True)
class UserTypeTable:
    """A tenant's table: its own entries (by :func:`value_key`) over the defaults."""

    entries: Mapping[str, Entry] = field(default_factory=dict, hash=False)

    def read(self, raw: str | None) -> UserTypeReading:
        if raw is None or not raw.strip():
            return UserTypeReading(raw, None, TypeStatus.ABSENT)
        found = self.type_for_key(value_key(raw))
        status = TypeStatus.UNMAPPED if found is None else TypeStatus.MAPPED
        return UserTypeReading(raw, found, status)

    def type_of(self, raw: str | None) -> UserType | None:
        return self.read(raw).user_type

    def type_for_key(self, key: str) -> UserType | None:
        if key in NAMED:
            return NAMED[key]
        entry = self.entries.get(key) or DEFAULT_SPELLINGS.get(key)
        return None if entry is None else entry.user_type

    def rows(self) -> list[dict[str, str]]:
        """Every value the table maps, for showing it: the defaults, and the tenant's
        entries (one replaces the default it shares a key with)."""
        shown = {key: (entry, "default") for key, entry in DEFAULT_SPELLINGS.items()}
        shown.update((key, (entry, "tenant")) for key, entry in self.entries.items())
        return [
            {"value": entry.value, "user_type": entry.user_type.value, "source": source}
            for key, (entry, source) in sorted(shown.items())
        ]

    def differs_from(self, other: UserTypeTable, values: Iterable[str]) -> list[str]:
        """The userType values among `values` that the two tables read differently."""
        return [value for value in values if self.type_of(value) != other.type_of(value)]


DEFAULT_TABLE = UserTypeTable()


def tenant_entries(given: Mapping[str, str], field_name: str = "mappings") -> dict[str, Entry]:
    """A tenant's entries from what an admin sent (userType value -> type), checked:
    every type is one of the four, no value is blank, none re-points one of the four
    names, and no two spellings of one value point at different types."""
    entries: dict[str, Entry] = {}
    for value, type_name in given.items():
        key = value_key(value)
        if not key:
            raise ValidationFailed(
                "invalid_value", "a userType value must not be blank", field_name
            )
        try:
            user_type = UserType(type_name)
        except ValueError:
            allowed = ", ".join(t.value for t in UserType)
            raise ValidationFailed(
                "invalid_value",
                f"{value!r} must map to one of {allowed}; got {type_name!r}",
                field_name,
            ) from None
        if key in NAMED and NAMED[key] is not user_type:
            raise ValidationFailed(
                "invalid_value",
                f"{value!r} names the {NAMED[key].value} type and cannot mean another",
                field_name,
            )
        earlier = entries.get(key)
        if earlier is not None and earlier.user_type is not user_type:
            raise ValidationFailed(
                "invalid_value",
                f"{earlier.value!r} and {value!r} are one value spelled twice, "
                "mapped to different types",
                field_name,
            )
        entries[key] = Entry(value, user_type)
    return entries
