"""Use cases on SCIM users: create, replace, delete.

Each takes the request's unit of work and writes everything a change implies (the
row, its indexed copies, membership clean-up, the audit event, the outbox rows) in
that one unit, through its repositories (`uow.users`, `uow.audit`), so they run on a
fake unit of work as well. Resources arrive already validated by scim2-models; the
document stored is the resource as SCIM JSON without the attributes that live
elsewhere (id, meta, password, groups).

A deprovisioning (DELETE, or a user left with `active: false`, even sent again)
records its effect (propagation.user_deprovisioned) and revokes the user's live
invitations, in the same unit of work (`_deprovision`).

`userType` is stored as the IdP sent it, and SCIM reads give it back so; a value the
tenant's user type table does not map is a warning in the audit log, once per user
and value (service.services.user_types.note_user_type).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from scim2_models import (
    NotFoundException,
    PreconditionFailedException,
    Resource,
    UniquenessException,
)

from service.persistence.base import new_id, utcnow
from service.persistence.repositories.audit import Outcome
from service.persistence.scim_models import ScimGroup, ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation, user_types
from service.services.invitation_rows import revoke_pending_for_user
from service.services.scim_values import check_columns, check_document

# Attributes kept outside the stored document.
_NOT_STORED = ("id", "meta", "password", "groups")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# The SCIM attribute each indexed column copies, to name it when a value does not fit.
_ATTRIBUTES = {
    "user_name": "userName",
    "user_name_lower": "userName",
    "external_id": "externalId",
    "display_name": "displayName",
    "user_type": "userType",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    encoded = base64.b64encode(salt + digest).decode("ascii")
    return f"scrypt$16384$8$1${encoded}"


def verify_password(password: str, stored: str) -> bool:
    _, n, r, p, encoded = stored.split("$")
    raw = base64.b64decode(encoded)
    salt, digest = raw[:16], raw[16:]
    candidate = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, dklen=len(digest), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate, digest)


def document_of(resource: Resource[Any]) -> dict[str, Any]:
    dumped = resource.model_dump()
    for key in _NOT_STORED:
        dumped.pop(key, None)
    return dumped


def summary(user: ScimUser) -> dict[str, Any]:
    """What the audit log keeps of a user: identifiers and state, not the profile."""
    return {
        "userName": user.user_name,
        "externalId": user.external_id,
        "active": user.active,
        "userType": user.user_type,
    }


def _column_values(resource: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The columns a user's resource decides (the indexed copies of its attributes),
    refused with 400 invalidValue when one would not be stored whole."""
    check_document(document)
    values = {
        "user_name": resource.user_name,
        "user_name_lower": resource.user_name.lower(),
        "external_id": resource.external_id,
        "display_name": resource.display_name,
        "active": True if resource.active is None else bool(resource.active),
        "user_type": resource.user_type,
        "given_name": resource.name.given_name if resource.name else None,
        "family_name": resource.name.family_name if resource.name else None,
        "document": document,
    }
    check_columns(ScimUser.__table__, values, _ATTRIBUTES)
    return values


def _check_unique(uow: UnitOfWork, tenant_id: str, resource: Any, own_id: str | None) -> None:
    """userName (compared lower-cased) and externalId are unique per tenant."""
    taken = uow.users.taken(tenant_id, resource.user_name, resource.external_id, own_id)
    if taken == "userName":
        raise UniquenessException(
            detail=f"userName {resource.user_name!r} is already taken", attribute="userName"
        )
    if taken == "externalId":
        raise UniquenessException(
            detail=f"externalId {resource.external_id!r} is already taken",
            attribute="externalId",
        )


def get_user(uow: UnitOfWork, tenant_id: str, user_id: str) -> ScimUser:
    with uow:
        user = uow.users.get(tenant_id, user_id)
    if user is None:
        raise NotFoundException(detail=f"User {user_id!r} not found")
    return user


def check_version(row: ScimUser | ScimGroup, expected_version: str | None) -> None:
    """An If-Match that names another version of the resource: 412."""
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException


def create_user(uow: UnitOfWork, tenant_id: str, actor: str, resource: Any) -> ScimUser:
    """Store a new user with its audit event and the outbox row of the work it implies
    (its first permission set, maybe an invitation). On a clash with the unique
    indexes nothing is stored and the 409 names the taken attribute."""
    now = utcnow()
    values = {
        "id": new_id(),
        "tenant_id": tenant_id,
        **_column_values(resource, document_of(resource)),
        "password_hash": hash_password(resource.password) if resource.password else None,
        "created": now,
        "last_modified": now,
        "version": 1,
    }
    with uow:
        user = uow.users.add(values)
        if user is None:
            _check_unique(uow, tenant_id, resource, None)
            raise UniquenessException(detail="a unique attribute value is already taken")
        uow.audit.record(
            tenant_id,
            actor,
            "scim.user.create",
            "scim_user",
            user.id,
            after=summary(user),
            outcome=Outcome.APPLIED,
            resource_name=user.user_name,
        )
        user_types.note_user_type(uow, tenant_id, actor, user.id, user.user_type)
        propagation.user_created(uow, tenant_id, user.id, actor)
    return user


def replace_user(
    uow: UnitOfWork,
    tenant_id: str,
    actor: str,
    resource: Any,
    expected_version: str | None = None,
) -> ScimUser:
    """Store the whole new state of a user; a state equal to the stored one changes
    nothing. A user left inactive (`active: false`, even sent again) is deprovisioned
    again: an IdP retrying a deactivation whose response it did not get (a 503) makes
    its effect apply again, instead of finding nothing to do."""
    with uow:
        row = get_user(uow, tenant_id, resource.id)
        check_version(row, expected_version)
        document = document_of(resource)
        password_changed = bool(resource.password) and not (
            row.password_hash and verify_password(resource.password, row.password_hash)
        )
        if document == row.document and not password_changed:
            return _unchanged(uow, tenant_id, actor, row)
        values = _column_values(resource, document)
        _check_unique(uow, tenant_id, resource, row.id)
        before = summary(row)
        for key, value in values.items():
            setattr(row, key, value)
        if password_changed:
            row.password_hash = hash_password(resource.password)
        row.last_modified = utcnow()
        row.version += 1
        uow.users.save(row)
        deactivated = before["active"] and not row.active
        action = "scim.user.deactivate" if deactivated else "scim.user.update"
        uow.audit.record(
            tenant_id,
            actor,
            action,
            "scim_user",
            row.id,
            before=before,
            after=summary(row),
            outcome=Outcome.APPLIED,
            resource_name=row.user_name,
        )
        user_types.note_user_type(uow, tenant_id, actor, row.id, row.user_type)
        if row.active:
            propagation.user_changed(uow, tenant_id, row.id)
        else:
            _deprovision(uow, tenant_id, actor, row.id)
    return row


def user_unchanged(uow: UnitOfWork, tenant_id: str, actor: str, user_id: str) -> ScimUser:
    """A replace or PATCH that leaves the user as stored (found so before the use case
    was called): see `_unchanged`."""
    with uow:
        return _unchanged(uow, tenant_id, actor, get_user(uow, tenant_id, user_id))


def _unchanged(uow: UnitOfWork, tenant_id: str, actor: str, row: ScimUser) -> ScimUser:
    """Nothing to store, and no audit event (only the provisioning log's row of a SCIM
    request that changed nothing). A user who stays inactive is deprovisioned
    again all the same (`active: false` or DELETE, made or sent again: no permissions
    from the moment the request returns): the request may be an IdP's retry of a
    deactivation that answered 503, and the retry must apply what the first attempt
    could not. The effect is idempotent."""
    uow.audit.record_no_change(tenant_id, actor, "scim_user", row.id, row.user_name)
    if not row.active:
        _deprovision(uow, tenant_id, actor, row.id)
    return row


def _deprovision(uow: UnitOfWork, tenant_id: str, actor: str, user_id: str) -> None:
    """No permissions from the moment the request returns, and no invitation link that
    still works. Both are idempotent, so a deprovisioning sent again applies them again."""
    propagation.user_deprovisioned(uow, tenant_id, user_id)
    revoke_pending_for_user(uow, tenant_id, user_id, actor)


def delete_user(
    uow: UnitOfWork,
    tenant_id: str,
    actor: str,
    user_id: str,
    expected_version: str | None = None,
) -> None:
    """Delete a user: no permissions from the moment the request returns (the
    deprovisioning effect), no group memberships, an audit event."""
    with uow:
        row = get_user(uow, tenant_id, user_id)
        check_version(row, expected_version)
        before = summary(row)
        _deprovision(uow, tenant_id, actor, user_id)  # its invitations, before the row goes
        uow.users.remove(row)
        uow.user_types.forget_user(tenant_id, user_id)
        uow.audit.record(
            tenant_id,
            actor,
            "scim.user.delete",
            "scim_user",
            user_id,
            before=before,
            outcome=Outcome.APPLIED,
            resource_name=before["userName"],
        )


def etag(version: int) -> str:
    return f'W/"{version}"'
