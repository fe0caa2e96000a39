"""Use cases on SCIM users: create, replace, delete.

Each takes the session of the request's unit of work and writes everything a
change implies (the row, its indexed copies, membership clean-up, the audit
event) in that one transaction. Resources arrive already validated by
scim2-models; the document stored is the resource as SCIM JSON without the
attributes that live elsewhere (id, meta, password, groups).
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
from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from service.persistence.base import new_id, utcnow
from service.persistence.scim_models import ScimGroupMember, ScimUser
from service.services import invitations, propagation
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


def _apply_columns(row: ScimUser, resource: Any, document: dict[str, Any]) -> None:
    row.user_name = resource.user_name
    row.user_name_lower = resource.user_name.lower()
    row.external_id = resource.external_id
    row.display_name = resource.display_name
    row.active = True if resource.active is None else bool(resource.active)
    row.user_type = resource.user_type
    row.given_name = resource.name.given_name if resource.name else None
    row.family_name = resource.name.family_name if resource.name else None
    row.document = document


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


_COLUMNS = tuple(attribute.key for attribute in ScimUser.__mapper__.column_attrs)
_INSERTS = {
    "postgresql": postgresql.insert(ScimUser).on_conflict_do_nothing().returning(ScimUser.id),
    "sqlite": sqlite.insert(ScimUser).on_conflict_do_nothing().returning(ScimUser.id),
}


def _insert_unique(session: Session, tenant_id: str, row: ScimUser, resource: Any) -> None:
    """Insert a new user, letting the unique indexes on (tenant, lower(userName)) and
    (tenant, externalId) decide: one round trip, and a clash (ON CONFLICT DO NOTHING)
    leaves the transaction usable, unlike an IntegrityError. Only on a clash is the
    taken attribute looked up, to name it in the 409."""
    statement = _INSERTS.get(session.get_bind().dialect.name)
    if statement is None:  # another database: check first, then let the ORM insert
        _check_unique(session, tenant_id, resource, None)
        session.add(row)
        session.flush()
        return
    if session.execute(statement, {key: getattr(row, key) for key in _COLUMNS}).first() is None:
        _check_unique(session, tenant_id, resource, None)
        raise UniquenessException(detail="a unique attribute value is already taken")
    # The row is stored: the session tracks it as loaded, without inserting it again.
    make_transient_to_detached(row)
    session.add(row)


def get_user(session: Session, tenant_id: str, user_id: str) -> ScimUser:
    user = session.scalar(
        select(ScimUser).where(ScimUser.tenant_id == tenant_id, ScimUser.id == user_id)
    )
    if user is None:
        raise NotFoundException(detail=f"User {user_id!r} not found")
    return user


def create_user(session: Session, tenant_id: str, actor: str, resource: Any) -> ScimUser:
    now = utcnow()
    row = ScimUser(id=new_id(), tenant_id=tenant_id, created=now, last_modified=now, version=1)
    _apply_columns(row, resource, document_of(resource))
    row.password_hash = hash_password(resource.password) if resource.password else None
    _insert_unique(session, tenant_id, row, resource)
    record(session, tenant_id, actor, "scim.user.create", "scim_user", row.id, after=summary(row))
    propagation.user_changed(session, tenant_id, row.id)
    invitations.invite_on_provision(session, tenant_id, row.id, actor)
    return row


def replace_user(
    session: Session,
    tenant_id: str,
    actor: str,
    resource: Any,
    expected_version: str | None = None,
) -> ScimUser:
    """Store the whole new state of a user; a state equal to the stored one changes nothing."""
    row = get_user(session, tenant_id, resource.id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    document = document_of(resource)
    password_changed = bool(resource.password) and not (
        row.password_hash and verify_password(resource.password, row.password_hash)
    )
    if document == row.document and not password_changed:
        return row
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
    if deactivated:
        _deprovisioned(session, tenant_id, row.id, actor)
    else:
        propagation.user_changed(session, tenant_id, row.id)
    return row


def _deprovisioned(session: Session, tenant_id: str, user_id: str, actor: str) -> None:
    """`active: false` or DELETE: no permissions from the moment the request returns,
    and no invitation link that still works."""
    propagation.user_deprovisioned(session, tenant_id, user_id)
    invitations.revoke_pending_for_user(session, tenant_id, user_id, actor)


def delete_user(
    session: Session, tenant_id: str, actor: str, user_id: str, expected_version: str | None = None
) -> None:
    row = get_user(session, tenant_id, user_id)
    if expected_version is not None and etag(row.version) != expected_version:
        raise PreconditionFailedException
    before = summary(row)
    _deprovisioned(session, tenant_id, user_id, actor)
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
