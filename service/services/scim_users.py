"""Use cases on SCIM users: create, replace, delete.

Each takes the session of the request's unit of work and writes everything a
change implies (the row, its indexed copies, membership clean-up, the audit
event) in that one transaction. Resources arrive already validated by
scim2-models; the document stored is the resource as SCIM JSON without the
attributes that live elsewhere (id, meta, password, groups).

A deprovisioning (DELETE, or a user left with `active: false`) records its effect
(propagation.user_deprovisioned) in the unit of work that owns the session. The
user's pending invitations are revoked in the same unit of work by the SCIM layer
that orchestrates the request (service.scim.storage): the invitation use cases
import this module (to create a user for an address), so it does not import them.
"""

from __future__ import annotations

import base64
import functools
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
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from service.persistence.base import new_id, utcnow
from service.persistence.models import AuditEvent
from service.persistence.repositories.audit import event_values
from service.persistence.scim_models import ScimGroupMember, ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.services import propagation
from service.services.audit import record

# Attributes kept outside the stored document.
_NOT_STORED = ("id", "meta", "password", "groups")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


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
    """The columns a user's resource decides (the indexed copies of its attributes)."""
    return {
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


def _apply_columns(row: ScimUser, resource: Any, document: dict[str, Any]) -> None:
    for key, value in _column_values(resource, document).items():
        setattr(row, key, value)


def _check_unique(session: Session, tenant_id: str, resource: Any, own_id: str | None) -> None:
    """userName (compared lower-cased) and externalId are unique per tenant; one query."""
    user_name = resource.user_name.lower()
    condition = ScimUser.user_name_lower == user_name
    if resource.external_id is not None:
        condition = or_(condition, ScimUser.external_id == resource.external_id)
    query = select(ScimUser.user_name_lower, ScimUser.external_id).where(
        ScimUser.tenant_id == tenant_id, condition
    )
    if own_id is not None:
        query = query.where(ScimUser.id != own_id)
    for taken_name, taken_external_id in session.execute(query.limit(2)):
        if taken_name == user_name:
            raise UniquenessException(
                detail=f"userName {resource.user_name!r} is already taken", attribute="userName"
            )
        if resource.external_id is not None and taken_external_id == resource.external_id:
            raise UniquenessException(
                detail=f"externalId {resource.external_id!r} is already taken",
                attribute="externalId",
            )


def get_user(session: Session, tenant_id: str, user_id: str) -> ScimUser:
    user = session.scalar(
        select(ScimUser).where(ScimUser.tenant_id == tenant_id, ScimUser.id == user_id)
    )
    if user is None:
        raise NotFoundException(detail=f"User {user_id!r} not found")
    return user


@functools.cache
def _insert_unless_taken(dialect: str) -> Any:
    """INSERT of one user that the unique indexes on (tenant, lower(userName)) and
    (tenant, externalId) may turn away without an error (ON CONFLICT DO NOTHING), so
    a clash leaves the transaction usable; returns the new id, no row on a clash.
    Built once per dialect; SQLAlchemy's compiled cache keeps its SQL."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(ScimUser).on_conflict_do_nothing().returning(ScimUser.id)


def create_user(session: Session, tenant_id: str, actor: str, resource: Any) -> ScimUser:
    """Store a new user with its audit event and the outbox row of the work it implies
    (its first permission set, maybe an invitation), in the session's transaction.
    On a clash with the unique indexes nothing is stored and the 409 names the taken
    attribute. The row is inserted in one statement and then tracked by the session
    as loaded (no ORM unit-of-work flush of a new object)."""
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
    dialect = session.get_bind().dialect.name
    if session.execute(_insert_unless_taken(dialect), values).first() is None:
        _check_unique(session, tenant_id, resource, None)
        raise UniquenessException(detail="a unique attribute value is already taken")
    user = ScimUser(**values)
    # The row is stored: the session tracks it as loaded, without inserting it again.
    make_transient_to_detached(user)
    session.add(user)
    session.execute(
        insert(AuditEvent),
        event_values(tenant_id, actor, "scim.user.create", "scim_user", user.id,
                     after=summary(user)),
    )  # fmt: skip
    propagation.user_created(UnitOfWork.of(session), tenant_id, user.id, actor)
    return user


def replace_user(
    session: Session,
    tenant_id: str,
    actor: str,
    resource: Any,
    expected_version: str | None = None,
) -> ScimUser:
    """Store the whole new state of a user; a state equal to the stored one changes
    nothing. A user left inactive (`active: false`, even sent again) is deprovisioned
    again: an IdP retrying a deactivation whose response it did not get (a 503) makes
    its effect apply again, instead of finding nothing to do."""
    row = get_user(session, tenant_id, resource.id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    document = document_of(resource)
    password_changed = bool(resource.password) and not (
        row.password_hash and verify_password(resource.password, row.password_hash)
    )
    if document == row.document and not password_changed:
        return _unchanged(session, tenant_id, row)
    _check_unique(session, tenant_id, resource, row.id)
    before = summary(row)
    _apply_columns(row, resource, document)
    if password_changed:
        row.password_hash = hash_password(resource.password)
    row.last_modified = utcnow()
    row.version += 1
    session.flush()
    deactivated = before["active"] and not row.active
    action = "scim.user.deactivate" if deactivated else "scim.user.update"
    record(
        session, tenant_id, actor, action, "scim_user", row.id, before=before, after=summary(row)
    )
    if row.active:
        propagation.user_changed(UnitOfWork.of(session), tenant_id, row.id)
    else:
        _deprovisioned(session, tenant_id, row.id)
    return row


def user_unchanged(session: Session, tenant_id: str, user_id: str) -> ScimUser:
    """A replace or PATCH that leaves the user as stored (found so before the use case
    was called): see `_unchanged`."""
    return _unchanged(session, tenant_id, get_user(session, tenant_id, user_id))


def _unchanged(session: Session, tenant_id: str, row: ScimUser) -> ScimUser:
    """Nothing to store, and no audit event. A user who stays inactive is deprovisioned
    again all the same: the request may be an IdP's retry of a deactivation that
    answered 503, and the retry must apply what the first attempt could not."""
    if not row.active:
        _deprovisioned(session, tenant_id, row.id)
    return row


def _deprovisioned(session: Session, tenant_id: str, user_id: str) -> None:
    """`active: false` or DELETE, made or sent again: no permissions from the moment
    the request returns. An effect, so a retry applies it again (it is idempotent)."""
    propagation.user_deprovisioned(UnitOfWork.of(session), tenant_id, user_id)


def delete_user(
    session: Session, tenant_id: str, actor: str, user_id: str, expected_version: str | None = None
) -> None:
    """Delete a user: no permissions from the moment the request returns (the
    deprovisioning effect), no group memberships, an audit event."""
    row = get_user(session, tenant_id, user_id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    before = summary(row)
    _deprovisioned(session, tenant_id, user_id)
    session.execute(
        delete(ScimGroupMember).where(
            ScimGroupMember.tenant_id == tenant_id, ScimGroupMember.member_id == user_id
        )
    )
    session.delete(row)
    session.flush()
    record(session, tenant_id, actor, "scim.user.delete", "scim_user", user_id, before=before)


def count_users(session: Session, tenant_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(ScimUser).where(ScimUser.tenant_id == tenant_id)
        )
        or 0
    )


def etag(version: int) -> str:
    return f'W/"{version}"'
